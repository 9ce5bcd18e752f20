-- Organising the library: tag aliases and implications, favourites,
-- collections (albums), and the indexes the search language needs.

-- "A means B": searching or tagging A uses B.
CREATE TABLE tag_aliases (
    alias      TEXT    PRIMARY KEY,
    tag_id     INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at REAL    NOT NULL
) STRICT;
CREATE INDEX tag_aliases_tag ON tag_aliases (tag_id);

-- "A implies B": tagging a picture with A also tags it with B.
CREATE TABLE tag_implications (
    tag_id         INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    implied_tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at     REAL    NOT NULL,
    PRIMARY KEY (tag_id, implied_tag_id),
    CHECK (tag_id != implied_tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX tag_implications_implied ON tag_implications (implied_tag_id);

CREATE TABLE favourites (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    created_at REAL    NOT NULL,
    PRIMARY KEY (user_id, image_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX favourites_image ON favourites (image_id);

CREATE TABLE collections (
    id             INTEGER PRIMARY KEY,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    visibility     TEXT    NOT NULL DEFAULT 'private'
                   CHECK (visibility IN ('private', 'unlisted', 'public')),
    cover_image_id INTEGER REFERENCES images (id) ON DELETE SET NULL,
    created_at     REAL    NOT NULL,
    updated_at     REAL    NOT NULL
) STRICT;
CREATE INDEX collections_owner ON collections (owner_id, id);

CREATE TABLE collection_items (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    image_id      INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    position      REAL    NOT NULL,
    added_at      REAL    NOT NULL,
    PRIMARY KEY (collection_id, image_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX collection_items_order ON collection_items (collection_id, position);
CREATE INDEX collection_items_image ON collection_items (image_id);

-- Search: metatag filters and orders over live pictures.
CREATE INDEX images_live_created ON images (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX images_live_size ON images (width, height) WHERE deleted_at IS NULL;
CREATE INDEX images_live_nsfw ON images (nsfw_score) WHERE deleted_at IS NULL;
CREATE INDEX image_metadata_model ON image_metadata (model);
CREATE INDEX image_metadata_sampler ON image_metadata (sampler);
