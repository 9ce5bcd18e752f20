"""Job kinds for the worker tests, loaded with SALON_JOB_MODULES=tests.jobs.plugin.

Each records its side effect in ``test_results`` so tests can count how often
a job's work really happened.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from app.jobs.context import JobContext
from app.jobs.registry import job_kind
from app.jobs.resources import register_checker

register_checker("file", lambda name, _config: Path(name).exists())


def record(ctx: JobContext, note: str = "") -> None:
    with ctx.db.transaction():
        ctx.db.execute("CREATE TABLE IF NOT EXISTS test_results (job_id INTEGER, pid INTEGER,"
                       " note TEXT)")
        ctx.db.execute("INSERT INTO test_results VALUES (?, ?, ?)",
                       (ctx.job.id, os.getpid(), note))


@job_kind("test.record", max_attempts=3, timeout_seconds=60)
def record_once(ctx: JobContext) -> dict[str, Any]:
    time.sleep(float(ctx.job.payload.get("sleep", 0)))  # lets slower-starting workers join
    record(ctx)
    return {"pid": os.getpid()}


@job_kind("test.slow", max_attempts=3, timeout_seconds=60)
def slow(ctx: JobContext) -> None:
    """Works for ``seconds`` (reporting progress), then records its result."""
    seconds = float(ctx.job.payload.get("seconds", 2))
    steps = 10
    for step in range(steps):
        time.sleep(seconds / steps)
        ctx.progress((step + 1) / steps, f"step {step + 1}")
    record(ctx, f"attempt {ctx.job.attempts}")


@job_kind("test.hang", max_attempts=1, timeout_seconds=2)
def hang(ctx: JobContext) -> None:
    time.sleep(3600)


@job_kind("test.needs_file", max_attempts=3, timeout_seconds=60)
def needs_file(ctx: JobContext) -> None:
    path = ctx.job.payload["path"]
    if not Path(path).exists():
        ctx.block(f"Waiting for {path}.", f"file:{path}")
    record(ctx)
