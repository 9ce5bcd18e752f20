"""Kinds with no side effects: a health check and the queue benchmark's unit of work."""

from __future__ import annotations

import time
from typing import Any

from app.jobs.context import JobContext
from app.jobs.registry import job_kind


@job_kind("noop", max_attempts=1, timeout_seconds=60)
def noop(ctx: JobContext) -> Any:
    """Does nothing; measures the queue itself."""
    return None


@job_kind("sleep", max_attempts=1, timeout_seconds=3600)
def sleep(ctx: JobContext) -> dict[str, float]:
    """Sleeps ``seconds`` in ``steps`` reported steps (for trying progress in the UI)."""
    seconds = float(ctx.job.payload.get("seconds", 1))
    steps = max(1, int(ctx.job.payload.get("steps", 10)))
    for step in range(steps):
        time.sleep(seconds / steps)
        ctx.progress((step + 1) / steps, f"step {step + 1} of {steps}")
    return {"slept": seconds}
