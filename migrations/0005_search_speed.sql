-- Search speed: tag conjunctions intersect inside FTS5, and the non-id
-- orders walk an index instead of sorting the library.

-- Each picture's tags as one token per tag: 't' and the tag's id (so a tag
-- is always exactly one token, whatever its name; a rename changes nothing;
-- aliases and wildcards resolve to ids first). Written by index_image in the
-- same transaction as the change. detail=none: only which pictures have a
-- tag is needed, never positions. rowid = images.id.
CREATE VIRTUAL TABLE image_tag_fts USING fts5 (
    tags,
    content = '', contentless_delete = 1, detail = none,
    tokenize = 'ascii'
);
INSERT INTO image_tag_fts (rowid, tags)
    SELECT it.image_id, group_concat('t' || it.tag_id, ' ')
    FROM image_tags it JOIN images i ON i.id = it.image_id
    WHERE i.deleted_at IS NULL
    GROUP BY it.image_id
    ORDER BY it.image_id;
-- A removed picture's id may be handed out again: its tag row goes with it.
CREATE TRIGGER image_tag_fts_forget AFTER DELETE ON images BEGIN
    DELETE FROM image_tag_fts WHERE rowid = old.id;
END;

-- order:width / height / size walk (column, id) over live pictures; order:nsfw
-- walks images_live_nsfw (an index's entries end with the id). order:random
-- walks a fixed shuffle of the ids (a multiplicative hash) from a random
-- start point; the expression must stay identical to SHUFFLE in the compiler.
CREATE INDEX images_live_width ON images (width, id) WHERE deleted_at IS NULL;
CREATE INDEX images_live_height ON images (height, id) WHERE deleted_at IS NULL;
CREATE INDEX images_live_bytes ON images (size_bytes, id) WHERE deleted_at IS NULL;
CREATE INDEX images_live_shuffle ON images (((id * 2654435761) % 4294967296), id)
    WHERE deleted_at IS NULL;
