-- Image tools: version chains, saved pipelines, and tool runs with their items.

-- A picture made by a tool or a pipeline from another picture. The parent may
-- be deleted later (the link then dangles to a tombstone and is hidden).
CREATE TABLE image_versions (
    image_id    INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    parent_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    -- A tool id, or NULL when a pipeline made it (pipeline_name says which).
    tool_id     TEXT,
    pipeline_id INTEGER REFERENCES pipelines (id) ON DELETE SET NULL,
    pipeline_name TEXT,
    -- The tool's settings, or the pipeline's steps, as JSON.
    settings    TEXT    NOT NULL DEFAULT '{}',
    job_id      INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (image_id <> parent_id),
    CHECK (tool_id IS NOT NULL OR pipeline_name IS NOT NULL)
) STRICT;
CREATE INDEX image_versions_parent ON image_versions (parent_id);

-- A named sequence of pipeline-capable tools: steps = [{"tool", "settings"}].
CREATE TABLE pipelines (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    steps       TEXT    NOT NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
) STRICT;
CREATE UNIQUE INDEX pipelines_owner_name ON pipelines (owner_id, name);

-- One run of a tool or a pipeline: its job, owner and work folder
-- (<uploads>/tools/<id>/ with input/ and output/, removed after
-- SALON_TOOL_RESULTS_HOURS).
CREATE TABLE tool_runs (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER UNIQUE REFERENCES jobs (id) ON DELETE SET NULL,
    owner_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('tool', 'pipeline')),
    tool_id     TEXT,
    pipeline_id INTEGER REFERENCES pipelines (id) ON DELETE SET NULL,
    -- Tool settings, or the pipeline's steps as they were when the run started.
    settings    TEXT    NOT NULL DEFAULT '{}',
    -- 'version' saves image outputs as new pictures; 'download' / 'zip' keeps files.
    save        TEXT    NOT NULL CHECK (save IN ('version', 'download', 'zip')),
    -- Staged inputs of a tool run: {"files": [...], "extra": {...}}.
    inputs      TEXT    NOT NULL DEFAULT '{}',
    created_at  REAL    NOT NULL,
    expired     INTEGER NOT NULL DEFAULT 0 CHECK (expired IN (0, 1))
) STRICT;
CREATE INDEX tool_runs_owner ON tool_runs (owner_id, id);
CREATE INDEX tool_runs_created ON tool_runs (created_at) WHERE expired = 0;

-- One picture of a batch (pipeline runs); each succeeds or fails on its own.
CREATE TABLE tool_run_items (
    run_id          INTEGER NOT NULL REFERENCES tool_runs (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    image_id        INTEGER REFERENCES images (id) ON DELETE SET NULL,
    state           TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    error           TEXT,
    output_name     TEXT,
    output_image_id INTEGER REFERENCES images (id) ON DELETE SET NULL,
    PRIMARY KEY (run_id, position)
) STRICT;
