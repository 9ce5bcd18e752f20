"""What people may do to jobs: users to their own, admins to all."""

from __future__ import annotations

from typing import Any

from app.db import Database
from app.errors import BadRequest, Conflict, NotFound
from app.jobs.queue import Queue
from app.queries import jobs
from app.queries.visibility import Viewer


def _visible(db: Database, job_id: int, viewer: Viewer) -> None:
    if jobs.get_job(db, job_id, viewer) is None:
        raise NotFound("No such job.")


def retry(db: Database, job_id: int, viewer: Viewer) -> None:
    _visible(db, job_id, viewer)
    if not Queue(db).retry(job_id):
        raise Conflict("Only failed or cancelled jobs can be retried (or the same work is "
                       "already queued).")


def cancel(db: Database, job_id: int, viewer: Viewer) -> None:
    _visible(db, job_id, viewer)
    if not Queue(db).cancel(job_id):
        raise Conflict("The job has already finished.")


def configure_kind(db: Database, kind: str, values: dict[str, Any]) -> None:
    """Admin: change a kind's concurrency (a number, or empty for no limit) and pause."""
    concurrency = values.get("concurrency")
    queue = Queue(db)
    if concurrency in ("", None):
        queue.set_kind(kind, clear_limit="concurrency" in values)
    else:
        try:
            limit = int(concurrency)
        except (TypeError, ValueError):
            raise BadRequest("Concurrency must be a whole number.", field="concurrency") from None
        if limit < 0:
            raise BadRequest("Concurrency cannot be negative.", field="concurrency")
        queue.set_kind(kind, concurrency=limit)
    if "paused" in values:
        queue.set_kind(kind, paused=values["paused"] in (True, "1", "true", "on"))
