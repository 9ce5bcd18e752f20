-- Federation: peers (both directions), the change feed, remote pictures,
-- replay protection for signed requests and the proxy's disk cache.

-- One row per remote instance, whichever side started: `following` is our
-- follow of them, `follower` is theirs of us.
CREATE TABLE peers (
    id             INTEGER PRIMARY KEY,
    base_url       TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    -- Their instance document's keys: JSON [{"id", "public_key", "status"}].
    keys           TEXT    NOT NULL DEFAULT '[]',
    following      TEXT    NOT NULL DEFAULT 'none'
                   CHECK (following IN ('none', 'requested', 'approved', 'denied')),
    follower       TEXT    NOT NULL DEFAULT 'none'
                   CHECK (follower IN ('none', 'pending', 'approved', 'denied')),
    blocked        INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    -- The last change-feed sequence number stored from them.
    cursor         INTEGER NOT NULL DEFAULT 0,
    -- The shadow account that owns their pictures here (disabled, cannot log in).
    user_id        INTEGER REFERENCES users (id),
    failures       INTEGER NOT NULL DEFAULT 0,
    last_sync_at   TEXT,
    next_sync_at   TEXT,
    last_error     TEXT,
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
) STRICT;

-- What each sync run did, for the peer page.
CREATE TABLE peer_sync_log (
    id          INTEGER PRIMARY KEY,
    peer_id     INTEGER NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,
    pages       INTEGER NOT NULL DEFAULT 0,
    upserts     INTEGER NOT NULL DEFAULT 0,
    deletes     INTEGER NOT NULL DEFAULT 0,
    error       TEXT
) STRICT;
CREATE INDEX peer_sync_log_peer ON peer_sync_log (peer_id, id);

-- The change feed: one row per local picture at the sequence number of its
-- latest change (a newer change replaces the row, so the feed stays compact
-- and a follower that pages through it sees every picture's current state).
CREATE TABLE federation_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id   INTEGER NOT NULL UNIQUE,
    changed_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
) STRICT;

-- Pictures that have been offered to followers at least once: only these
-- get tombstones (a picture that was never shared is never announced).
CREATE TABLE federation_shared (
    image_id INTEGER PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- Remote pictures are rows of `images` owned by the peer's shadow account.
ALTER TABLE images ADD COLUMN peer_id INTEGER REFERENCES peers (id);
ALTER TABLE images ADD COLUMN remote_id TEXT;
ALTER TABLE images ADD COLUMN origin_url TEXT;
CREATE UNIQUE INDEX images_peer_remote ON images (peer_id, remote_id) WHERE peer_id IS NOT NULL;
-- The upload dedupe is per local owner: two people on one peer may share a
-- file, and both their pictures belong to that peer's one shadow account here.
DROP INDEX images_owner_sha;
CREATE UNIQUE INDEX images_owner_sha ON images (owner_id, sha256)
    WHERE deleted_at IS NULL AND peer_id IS NULL;

-- The feed's triggers. A local picture's change moves its row to a new, larger
-- sequence number (delete, then insert: AUTOINCREMENT never reuses a number).
-- Only pictures that may be shared now, or were offered before (a tombstone is
-- due), are announced; private uploads and their tagging stay out of the feed.
-- Whether a public picture is shared (NSFW rules) is decided when the feed is
-- read, which also records it in federation_shared in the same transaction.
CREATE TRIGGER federation_image_insert AFTER INSERT ON images
WHEN new.peer_id IS NULL AND new.visibility = 'public' AND new.deleted_at IS NULL BEGIN
    DELETE FROM federation_changes WHERE image_id = new.id;
    INSERT INTO federation_changes (image_id) VALUES (new.id);
END;

CREATE TRIGGER federation_image_update
AFTER UPDATE OF visibility, deleted_at, title, description, rating, nsfw_score, caption ON images
WHEN new.peer_id IS NULL
  AND (old.visibility IS NOT new.visibility OR old.deleted_at IS NOT new.deleted_at
    OR old.title IS NOT new.title OR old.description IS NOT new.description
    OR old.rating IS NOT new.rating OR old.nsfw_score IS NOT new.nsfw_score
    OR old.caption IS NOT new.caption)
  AND ((new.visibility = 'public' AND new.deleted_at IS NULL)
    OR new.id IN (SELECT image_id FROM federation_shared))
BEGIN
    DELETE FROM federation_changes WHERE image_id = new.id;
    INSERT INTO federation_changes (image_id) VALUES (new.id);
END;

CREATE TRIGGER federation_image_delete AFTER DELETE ON images
WHEN old.peer_id IS NULL AND old.id IN (SELECT image_id FROM federation_shared) BEGIN
    DELETE FROM federation_changes WHERE image_id = old.id;
    INSERT INTO federation_changes (image_id) VALUES (old.id);
END;

CREATE TRIGGER federation_tag_insert AFTER INSERT ON image_tags
WHEN new.image_id IN (SELECT id FROM images WHERE id = new.image_id AND peer_id IS NULL
    AND ((visibility = 'public' AND deleted_at IS NULL)
      OR id IN (SELECT image_id FROM federation_shared)))
BEGIN
    DELETE FROM federation_changes WHERE image_id = new.image_id;
    INSERT INTO federation_changes (image_id) VALUES (new.image_id);
END;

CREATE TRIGGER federation_tag_update AFTER UPDATE ON image_tags
WHEN new.image_id IN (SELECT id FROM images WHERE id = new.image_id AND peer_id IS NULL
    AND ((visibility = 'public' AND deleted_at IS NULL)
      OR id IN (SELECT image_id FROM federation_shared)))
BEGIN
    DELETE FROM federation_changes WHERE image_id = new.image_id;
    INSERT INTO federation_changes (image_id) VALUES (new.image_id);
END;

CREATE TRIGGER federation_tag_delete AFTER DELETE ON image_tags
WHEN old.image_id IN (SELECT id FROM images WHERE id = old.image_id AND peer_id IS NULL
    AND ((visibility = 'public' AND deleted_at IS NULL)
      OR id IN (SELECT image_id FROM federation_shared)))
BEGIN
    DELETE FROM federation_changes WHERE image_id = old.image_id;
    INSERT INTO federation_changes (image_id) VALUES (old.image_id);
END;

CREATE TRIGGER federation_metadata_insert AFTER INSERT ON image_metadata
WHEN new.image_id IN (SELECT id FROM images WHERE id = new.image_id AND peer_id IS NULL
    AND ((visibility = 'public' AND deleted_at IS NULL)
      OR id IN (SELECT image_id FROM federation_shared)))
BEGIN
    DELETE FROM federation_changes WHERE image_id = new.image_id;
    INSERT INTO federation_changes (image_id) VALUES (new.image_id);
END;

CREATE TRIGGER federation_metadata_update AFTER UPDATE ON image_metadata
WHEN new.image_id IN (SELECT id FROM images WHERE id = new.image_id AND peer_id IS NULL
    AND ((visibility = 'public' AND deleted_at IS NULL)
      OR id IN (SELECT image_id FROM federation_shared)))
BEGIN
    DELETE FROM federation_changes WHERE image_id = new.image_id;
    INSERT INTO federation_changes (image_id) VALUES (new.image_id);
END;

CREATE TRIGGER federation_metadata_delete AFTER DELETE ON image_metadata
WHEN old.image_id IN (SELECT id FROM images WHERE id = old.image_id AND peer_id IS NULL
    AND ((visibility = 'public' AND deleted_at IS NULL)
      OR id IN (SELECT image_id FROM federation_shared)))
BEGIN
    DELETE FROM federation_changes WHERE image_id = old.image_id;
    INSERT INTO federation_changes (image_id) VALUES (old.image_id);
END;

-- Pictures already public when federation arrives start the feed, oldest first.
INSERT INTO federation_changes (image_id)
    SELECT id FROM images WHERE deleted_at IS NULL AND visibility = 'public' ORDER BY id;

-- Signatures already accepted, kept for the freshness window (replays are refused).
CREATE TABLE federation_replay (
    digest  TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX federation_replay_seen ON federation_replay (seen_at);

-- Proxied media on disk, for the LRU size cap.
CREATE TABLE proxy_cache (
    peer_id    INTEGER NOT NULL,
    remote_id  TEXT    NOT NULL,
    variant    TEXT    NOT NULL CHECK (variant IN ('thumb', 'preview', 'original')),
    path       TEXT    NOT NULL,
    mime       TEXT    NOT NULL,
    size_bytes INTEGER NOT NULL,
    used_at    REAL    NOT NULL,
    PRIMARY KEY (peer_id, remote_id, variant)
) STRICT, WITHOUT ROWID;
CREATE INDEX proxy_cache_used ON proxy_cache (used_at);
