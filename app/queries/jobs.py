"""Read-side queries over ``jobs`` and ``job_kinds`` for pages and the API.

A user sees their own jobs; an admin sees every job. State changes go
through ``app.jobs.queue.Queue``, never through here.
"""

from __future__ import annotations

import json
from typing import Any

from app.db import Database, Row
from app.queries.visibility import Viewer

STATES = ("queued", "running", "succeeded", "failed", "cancelled", "blocked")
COLUMNS = (
    "id, kind, state, priority, attempts, max_attempts, run_after, progress, message, error,"
    " blocked_on, result, user_id, image_id, created_at, updated_at, started_at, finished_at,"
    " cpu_slots, gpu_mb, timeout_seconds, lease_owner"
)


def _scope(viewer: Viewer) -> tuple[str, list[Any]]:
    if viewer.is_admin:
        return "1", []
    return "user_id = ?", [viewer.user_id]


def list_jobs(db: Database, viewer: Viewer, *, state: str | None = None,
              kind: str | None = None, image_id: int | None = None,
              before: int | None = None, limit: int = 50) -> list[Row]:
    condition, params = _scope(viewer)
    clauses, args = [condition], list(params)
    for column, value in (("state", state), ("kind", kind), ("image_id", image_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if before is not None:
        clauses.append("id < ?")
        args.append(before)
    return db.all(f"SELECT {COLUMNS} FROM jobs WHERE {' AND '.join(clauses)}"
                  " ORDER BY id DESC LIMIT ?", [*args, limit])


def get_job(db: Database, job_id: int, viewer: Viewer) -> Row | None:
    condition, params = _scope(viewer)
    return db.one(f"SELECT {COLUMNS} FROM jobs WHERE id = ? AND {condition}",
                  [job_id, *params])


def counts(db: Database) -> dict[str, dict[str, int]]:
    """{kind: {state: count}} over every job."""
    table: dict[str, dict[str, int]] = {}
    for row in db.all("SELECT kind, state, count(*) AS n FROM jobs GROUP BY kind, state"):
        table.setdefault(row["kind"], {})[row["state"]] = row["n"]
    return table


def kind_controls(db: Database) -> dict[str, Row]:
    return {row["kind"]: row for row in db.all("SELECT * FROM job_kinds")}


def job_json(row: Row) -> dict[str, Any]:
    """The API shape of a job (payloads stay private to the worker)."""
    data = {key: row[key] for key in (
        "id", "kind", "state", "priority", "attempts", "max_attempts", "progress", "message",
        "error", "blocked_on", "user_id", "image_id", "created_at", "updated_at", "started_at",
        "finished_at", "cpu_slots", "gpu_mb", "timeout_seconds")}
    data["result"] = json.loads(row["result"]) if row["result"] else None
    return data
