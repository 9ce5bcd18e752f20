-- Salon's first schema: accounts, API keys, runtime settings, pictures,
-- their metadata, tags, and the full-text index.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    preferences   TEXT    NOT NULL DEFAULT '{}',
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
) STRICT;

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL UNIQUE,
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Failed logins, for the rate limit; old rows are pruned as new ones arrive.
CREATE TABLE login_failures (
    id         INTEGER PRIMARY KEY,
    username   TEXT NOT NULL COLLATE NOCASE,
    address    TEXT NOT NULL,
    failed_at  REAL NOT NULL
) STRICT;
CREATE INDEX login_failures_username ON login_failures (username, failed_at);
CREATE INDEX login_failures_address ON login_failures (address, failed_at);

-- Settings an admin changes at run time (public gallery, open registration, ...).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE images (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES users (id),
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    kind        TEXT    NOT NULL CHECK (kind IN ('image', 'video')),
    mime        TEXT    NOT NULL,
    ext         TEXT    NOT NULL,
    file_name   TEXT    NOT NULL,
    size_bytes  INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    frames      INTEGER NOT NULL DEFAULT 1,
    duration    REAL,
    codec       TEXT,
    title       TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    visibility  TEXT    NOT NULL DEFAULT 'private'
                CHECK (visibility IN ('private', 'unlisted', 'public')),
    taken_at    TEXT,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    deleted_at  TEXT
) STRICT;
-- One live picture per owner and content: the upload dedupe.
CREATE UNIQUE INDEX images_owner_sha ON images (owner_id, sha256) WHERE deleted_at IS NULL;
CREATE INDEX images_sha ON images (sha256);
-- Grids are keyset-paginated newest first (by id) with visibility filters.
CREATE INDEX images_owner_live ON images (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX images_public_live ON images (id) WHERE deleted_at IS NULL AND visibility = 'public';

CREATE TABLE image_metadata (
    image_id        INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    camera_make     TEXT,
    camera_model    TEXT,
    lens            TEXT,
    exposure_time   TEXT,
    f_number        REAL,
    iso             INTEGER,
    focal_length    REAL,
    gps_latitude    REAL,
    gps_longitude   REAL,
    gps_altitude    REAL,
    generator       TEXT,
    prompt          TEXT,
    negative_prompt TEXT,
    steps           INTEGER,
    sampler         TEXT,
    scheduler       TEXT,
    cfg_scale       REAL,
    seed            INTEGER,
    model           TEXT,
    model_hash      TEXT,
    exif_json       TEXT NOT NULL DEFAULT '{}',
    generation_json TEXT NOT NULL DEFAULT '{}',
    text_json       TEXT NOT NULL DEFAULT '{}'
) STRICT;

CREATE TABLE tags (
    id       INTEGER PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE,
    category TEXT    NOT NULL DEFAULT 'general',
    count    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE image_tags (
    image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag_id     INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    confidence REAL,
    source     TEXT    NOT NULL DEFAULT 'user',
    PRIMARY KEY (image_id, tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX image_tags_tag ON image_tags (tag_id, image_id);

-- Full-text index over what people search for. Kept by the application in
-- the same transaction as the change (not by triggers, which would rewrite
-- the row on every unrelated UPDATE). rowid = images.id.
CREATE VIRTUAL TABLE images_fts USING fts5 (
    title, description, file_name, prompt, caption, tags,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
