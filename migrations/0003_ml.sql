-- What the models say about a picture, and the owner's word over them.

ALTER TABLE images ADD COLUMN rating TEXT
    CHECK (rating IS NULL OR rating IN ('general', 'sensitive', 'questionable', 'explicit'));
ALTER TABLE images ADD COLUMN tagger_rating TEXT
    CHECK (tagger_rating IS NULL OR tagger_rating IN
           ('general', 'sensitive', 'questionable', 'explicit'));
ALTER TABLE images ADD COLUMN nsfw_score REAL;
ALTER TABLE images ADD COLUMN caption TEXT;
CREATE INDEX images_rating ON images (rating, id) WHERE deleted_at IS NULL;

-- A model's tag the owner removed: re-analysis must not bring it back.
CREATE TABLE image_tag_removals (
    image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag_id     INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    removed_at REAL    NOT NULL,
    PRIMARY KEY (image_id, tag_id)
) STRICT, WITHOUT ROWID;

-- Autocomplete lists the most used tags for a prefix.
CREATE INDEX tags_count ON tags (count DESC) WHERE count > 0;
