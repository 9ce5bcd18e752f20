-- Statistics summaries: what the statistics page counts, kept per (owner,
-- visibility) so that "what this viewer may list" (public pictures plus their
-- own) is a sum over a few small rows instead of a scan of the library. Only
-- live pictures are counted. Kept by triggers, because ratings, tags and
-- metadata are written from many places; rows that fall to zero stay (the
-- queries skip them). The INSERT ... SELECT statements below are the same
-- rebuild as app.queries.stats.rebuild_summaries.

CREATE TABLE stats_daily (
    owner_id   INTEGER NOT NULL,
    visibility TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    rating     TEXT    NOT NULL,
    pictures   INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    PRIMARY KEY (owner_id, visibility, day, kind, rating)
) STRICT, WITHOUT ROWID;

CREATE TABLE stats_tags (
    owner_id   INTEGER NOT NULL,
    visibility TEXT    NOT NULL,
    tag_id     INTEGER NOT NULL,
    pictures   INTEGER NOT NULL,
    PRIMARY KEY (owner_id, visibility, tag_id)
) STRICT, WITHOUT ROWID;

-- field is an image_metadata column the page groups by ('model', 'sampler').
CREATE TABLE stats_values (
    owner_id   INTEGER NOT NULL,
    visibility TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    pictures   INTEGER NOT NULL,
    PRIMARY KEY (owner_id, visibility, field, value)
) STRICT, WITHOUT ROWID;

INSERT INTO stats_daily
    SELECT owner_id, visibility, substr(created_at, 1, 10), kind, coalesce(rating, 'unrated'),
           count(*), sum(size_bytes)
    FROM images WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5;
INSERT INTO stats_tags
    SELECT i.owner_id, i.visibility, it.tag_id, count(*)
    FROM image_tags it JOIN images i ON i.id = it.image_id
    WHERE i.deleted_at IS NULL GROUP BY 1, 2, 3;
INSERT INTO stats_values
    SELECT i.owner_id, i.visibility, 'model', m.model, count(*)
    FROM image_metadata m JOIN images i ON i.id = m.image_id
    WHERE i.deleted_at IS NULL AND m.model IS NOT NULL AND m.model != '' GROUP BY 1, 2, 4;
INSERT INTO stats_values
    SELECT i.owner_id, i.visibility, 'sampler', m.sampler, count(*)
    FROM image_metadata m JOIN images i ON i.id = m.image_id
    WHERE i.deleted_at IS NULL AND m.sampler IS NOT NULL AND m.sampler != '' GROUP BY 1, 2, 4;

-- A picture arrives (its tags and metadata follow, with their own triggers).
CREATE TRIGGER stats_image_insert AFTER INSERT ON images WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO stats_daily VALUES (new.owner_id, new.visibility, substr(new.created_at, 1, 10),
        new.kind, coalesce(new.rating, 'unrated'), 1, new.size_bytes)
    ON CONFLICT DO UPDATE SET pictures = pictures + 1, bytes = bytes + excluded.bytes;
END;

-- Any change to what is counted, or to whom and under which key: take the old
-- picture out, put the new one in.
CREATE TRIGGER stats_image_update_daily
AFTER UPDATE OF owner_id, visibility, created_at, kind, rating, size_bytes, deleted_at ON images
BEGIN
    UPDATE stats_daily SET pictures = pictures - 1, bytes = bytes - old.size_bytes
    WHERE old.deleted_at IS NULL AND owner_id = old.owner_id AND visibility = old.visibility
      AND day = substr(old.created_at, 1, 10) AND kind = old.kind
      AND rating = coalesce(old.rating, 'unrated');
    INSERT INTO stats_daily SELECT new.owner_id, new.visibility, substr(new.created_at, 1, 10),
        new.kind, coalesce(new.rating, 'unrated'), 1, new.size_bytes
    WHERE new.deleted_at IS NULL
    ON CONFLICT DO UPDATE SET pictures = pictures + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER stats_image_update_links AFTER UPDATE OF owner_id, visibility, deleted_at ON images
WHEN old.owner_id IS NOT new.owner_id OR old.visibility IS NOT new.visibility
  OR (old.deleted_at IS NULL) != (new.deleted_at IS NULL)
BEGIN
    UPDATE stats_tags SET pictures = pictures - 1
    WHERE old.deleted_at IS NULL AND owner_id = old.owner_id AND visibility = old.visibility
      AND tag_id IN (SELECT tag_id FROM image_tags WHERE image_id = old.id);
    INSERT INTO stats_tags SELECT new.owner_id, new.visibility, tag_id, 1
    FROM image_tags WHERE image_id = new.id AND new.deleted_at IS NULL
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
    UPDATE stats_values SET pictures = pictures - 1
    WHERE old.deleted_at IS NULL AND owner_id = old.owner_id AND visibility = old.visibility
      AND ((field = 'model' AND value = (SELECT model FROM image_metadata WHERE image_id = old.id))
        OR (field = 'sampler'
            AND value = (SELECT sampler FROM image_metadata WHERE image_id = old.id)));
    INSERT INTO stats_values SELECT new.owner_id, new.visibility, 'model', model, 1
    FROM image_metadata WHERE image_id = new.id AND new.deleted_at IS NULL
      AND model IS NOT NULL AND model != ''
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
    INSERT INTO stats_values SELECT new.owner_id, new.visibility, 'sampler', sampler, 1
    FROM image_metadata WHERE image_id = new.id AND new.deleted_at IS NULL
      AND sampler IS NOT NULL AND sampler != ''
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
END;

-- A live picture removed outright: out of every summary while its tags and
-- metadata still exist (their own delete triggers find no live picture).
CREATE TRIGGER stats_image_delete BEFORE DELETE ON images WHEN old.deleted_at IS NULL BEGIN
    UPDATE stats_daily SET pictures = pictures - 1, bytes = bytes - old.size_bytes
    WHERE owner_id = old.owner_id AND visibility = old.visibility
      AND day = substr(old.created_at, 1, 10) AND kind = old.kind
      AND rating = coalesce(old.rating, 'unrated');
    UPDATE stats_tags SET pictures = pictures - 1
    WHERE owner_id = old.owner_id AND visibility = old.visibility
      AND tag_id IN (SELECT tag_id FROM image_tags WHERE image_id = old.id);
    UPDATE stats_values SET pictures = pictures - 1
    WHERE owner_id = old.owner_id AND visibility = old.visibility
      AND ((field = 'model' AND value = (SELECT model FROM image_metadata WHERE image_id = old.id))
        OR (field = 'sampler'
            AND value = (SELECT sampler FROM image_metadata WHERE image_id = old.id)));
END;

CREATE TRIGGER stats_tag_insert AFTER INSERT ON image_tags BEGIN
    INSERT INTO stats_tags SELECT owner_id, visibility, new.tag_id, 1
    FROM images WHERE id = new.image_id AND deleted_at IS NULL
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
END;

CREATE TRIGGER stats_tag_delete AFTER DELETE ON image_tags BEGIN
    UPDATE stats_tags SET pictures = pictures - 1
    WHERE tag_id = old.tag_id AND (owner_id, visibility) IN
        (SELECT owner_id, visibility FROM images WHERE id = old.image_id AND deleted_at IS NULL);
END;

CREATE TRIGGER stats_tag_update AFTER UPDATE OF image_id, tag_id ON image_tags BEGIN
    UPDATE stats_tags SET pictures = pictures - 1
    WHERE tag_id = old.tag_id AND (owner_id, visibility) IN
        (SELECT owner_id, visibility FROM images WHERE id = old.image_id AND deleted_at IS NULL);
    INSERT INTO stats_tags SELECT owner_id, visibility, new.tag_id, 1
    FROM images WHERE id = new.image_id AND deleted_at IS NULL
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
END;

CREATE TRIGGER stats_metadata_insert AFTER INSERT ON image_metadata BEGIN
    INSERT INTO stats_values SELECT owner_id, visibility, 'model', new.model, 1
    FROM images WHERE id = new.image_id AND deleted_at IS NULL
      AND new.model IS NOT NULL AND new.model != ''
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
    INSERT INTO stats_values SELECT owner_id, visibility, 'sampler', new.sampler, 1
    FROM images WHERE id = new.image_id AND deleted_at IS NULL
      AND new.sampler IS NOT NULL AND new.sampler != ''
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
END;

CREATE TRIGGER stats_metadata_delete AFTER DELETE ON image_metadata BEGIN
    UPDATE stats_values SET pictures = pictures - 1
    WHERE ((field = 'model' AND value = old.model) OR (field = 'sampler' AND value = old.sampler))
      AND (owner_id, visibility) IN
        (SELECT owner_id, visibility FROM images WHERE id = old.image_id AND deleted_at IS NULL);
END;

CREATE TRIGGER stats_metadata_update AFTER UPDATE OF image_id, model, sampler ON image_metadata
BEGIN
    UPDATE stats_values SET pictures = pictures - 1
    WHERE ((field = 'model' AND value = old.model) OR (field = 'sampler' AND value = old.sampler))
      AND (owner_id, visibility) IN
        (SELECT owner_id, visibility FROM images WHERE id = old.image_id AND deleted_at IS NULL);
    INSERT INTO stats_values SELECT owner_id, visibility, 'model', new.model, 1
    FROM images WHERE id = new.image_id AND deleted_at IS NULL
      AND new.model IS NOT NULL AND new.model != ''
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
    INSERT INTO stats_values SELECT owner_id, visibility, 'sampler', new.sampler, 1
    FROM images WHERE id = new.image_id AND deleted_at IS NULL
      AND new.sampler IS NOT NULL AND new.sampler != ''
    ON CONFLICT DO UPDATE SET pictures = pictures + 1;
END;
