"""Job kinds of federation: one peer's sync, its thumbnail prefetch, pushes to our
followers, and the schedule."""

from __future__ import annotations

import time
from typing import Any

from app.db import Database
from app.federation.prefetch import PREFETCH_KIND, PRIORITY, TIMEOUT_SECONDS, prefetch_run
from app.federation.push import PUSH_KIND, push_now
from app.federation.sync import SyncResult, sync_peer, thumbnail_prefetcher
from app.jobs.context import JobContext
from app.jobs.queue import Queue
from app.jobs.registry import job_kind
from app.queries import peers as peer_queries

SYNC_KIND = "federation.sync"


def enqueue_sync(db: Database, peer_id: int, user_id: int | None = None,
                 delay: float = 0.0) -> int:
    """Queue a sync of the peer (at most one pending per peer)."""
    return Queue(db).enqueue(SYNC_KIND, {"peer_id": peer_id}, dedupe_key=f"{SYNC_KIND}:{peer_id}",
                             user_id=user_id, delay=delay)


@job_kind(SYNC_KIND, max_attempts=1, timeout_seconds=3600)
def sync(ctx: JobContext) -> dict[str, Any]:
    """Pull the peer's changes until caught up; failures back off on the peer itself."""
    peer_id = int(ctx.job.payload["peer_id"])

    def progress(result: SyncResult) -> None:
        ctx.progress(0.5 if result.more else 1.0,
                     f"{result.pages} page(s), {result.upserts} picture(s)")

    result = sync_peer(ctx.db, ctx.config, peer_id, progress=progress,
                       prefetch=thumbnail_prefetcher(ctx.db, ctx.config))
    return result.as_dict()


@job_kind(PREFETCH_KIND, max_attempts=1, timeout_seconds=TIMEOUT_SECONDS, priority=PRIORITY)
def prefetch(ctx: JobContext) -> dict[str, Any]:
    """Fetch the peer's missing thumbnails, a bounded run at a time (failures only logged)."""
    return prefetch_run(ctx.db, ctx.config, ctx.job.payload).as_dict()


@job_kind(PUSH_KIND, max_attempts=1, timeout_seconds=300)
def push(ctx: JobContext) -> dict[str, Any]:
    """Tell every approved follower that our change feed moved (best effort)."""
    return push_now(ctx.db, ctx.config)


@job_kind("federation.schedule", max_attempts=1, timeout_seconds=60, priority=-5)
def schedule(ctx: JobContext) -> dict[str, int]:
    """Queue a sync of every followed peer whose next sync time has come."""
    due = peer_queries.due_for_sync(ctx.db, peer_queries.iso(time.time()))
    for peer_id in due:
        enqueue_sync(ctx.db, peer_id)
    return {"queued": len(due)}
