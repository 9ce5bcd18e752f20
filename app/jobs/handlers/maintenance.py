"""Periodic upkeep, queued by the worker supervisor with de-duplication keys."""

from __future__ import annotations

import shutil
import time
from typing import Any

from app.jobs.context import JobContext
from app.jobs.registry import job_kind
from app.media.library import remove_unreferenced_files

EVENT_RETENTION_SECONDS = 24 * 3600
STALE_UPLOAD_SECONDS = 3600


@job_kind("maintenance.prune_events", max_attempts=1, timeout_seconds=300, priority=-10)
def prune_events(ctx: JobContext) -> dict[str, int]:
    return {"deleted": ctx.queue.prune_events(EVENT_RETENTION_SECONDS)}


@job_kind("maintenance.cleanup_files", max_attempts=1, timeout_seconds=3600, priority=-10)
def cleanup_files(ctx: JobContext) -> dict[str, Any]:
    """Files no live picture uses, and upload folders a killed request left behind."""
    removed = remove_unreferenced_files(ctx.db, ctx.store)
    stale = 0
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    for folder in ctx.store.tmp.glob("up-*"):
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            stale += 1
    from app.tools.runner import remove_expired_runs  # image tools' run folders

    tool_runs = remove_expired_runs(ctx.db, ctx.store, ctx.config.get("TOOL_RESULTS_HOURS", 24))
    return {"removed": removed, "stale_uploads": stale, "tool_runs": tool_runs}
