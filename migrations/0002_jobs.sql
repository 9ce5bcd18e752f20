-- The job queue (one table of rows with states), its event log for the
-- realtime bridge, per-kind controls, and the results of picture analysis.

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL DEFAULT '{}',
    dedupe_key      TEXT,
    state           TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN
                    ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'blocked')),
    priority        INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 3,
    run_after       REAL    NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     REAL,
    cpu_slots       INTEGER NOT NULL DEFAULT 1,
    gpu_mb          INTEGER NOT NULL DEFAULT 0,
    timeout_seconds REAL    NOT NULL DEFAULT 600,
    progress        REAL    NOT NULL DEFAULT 0,
    message         TEXT    NOT NULL DEFAULT '',
    error           TEXT,
    blocked_on      TEXT,
    result          TEXT,
    user_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    image_id        INTEGER REFERENCES images (id) ON DELETE SET NULL,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    started_at      REAL,
    finished_at     REAL
) STRICT;
-- The same work is never queued twice while it is still to be done.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'blocked');
CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lease_owner) WHERE state = 'running';
CREATE INDEX jobs_blocked ON jobs (blocked_on) WHERE state = 'blocked';
CREATE INDEX jobs_kind_state ON jobs (kind, state);
CREATE INDEX jobs_image ON jobs (image_id) WHERE image_id IS NOT NULL;
CREATE INDEX jobs_user ON jobs (user_id, id) WHERE user_id IS NOT NULL;

-- Append-only: what the web process relays to Socket.IO, read by id.
CREATE TABLE job_events (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER,
    event      TEXT    NOT NULL,
    user_id    INTEGER,
    image_id   INTEGER,
    data       TEXT    NOT NULL,
    created_at REAL    NOT NULL
) STRICT;
CREATE INDEX job_events_created ON job_events (created_at);

-- Per-kind controls, changed at run time: concurrency limit and pause.
CREATE TABLE job_kinds (
    kind        TEXT PRIMARY KEY,
    concurrency INTEGER CHECK (concurrency IS NULL OR concurrency >= 0),
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1))
) STRICT;

-- Each analysis step's state per picture (the picture page and API show it).
CREATE TABLE analysis_steps (
    image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    step       TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'blocked')),
    reason     TEXT,
    updated_at REAL    NOT NULL,
    PRIMARY KEY (image_id, step)
) STRICT, WITHOUT ROWID;

-- Perceptual hash (64 bits, as a signed integer), cut into eight 8-bit bands:
-- two hashes within Hamming distance 7 share at least one band (pigeonhole),
-- so candidates come from the band indexes, not a scan. Plus dominant colours.
CREATE TABLE image_features (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    phash    INTEGER,
    band0 INTEGER, band1 INTEGER, band2 INTEGER, band3 INTEGER,
    band4 INTEGER, band5 INTEGER, band6 INTEGER, band7 INTEGER,
    colors   TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX image_features_band0 ON image_features (band0);
CREATE INDEX image_features_band1 ON image_features (band1);
CREATE INDEX image_features_band2 ON image_features (band2);
CREATE INDEX image_features_band3 ON image_features (band3);
CREATE INDEX image_features_band4 ON image_features (band4);
CREATE INDEX image_features_band5 ON image_features (band5);
CREATE INDEX image_features_band6 ON image_features (band6);
CREATE INDEX image_features_band7 ON image_features (band7);

-- Near-duplicate pairs found at analysis time (both directions stored).
CREATE TABLE image_similar (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    other_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    distance INTEGER NOT NULL,
    PRIMARY KEY (image_id, other_id)
) STRICT, WITHOUT ROWID;
