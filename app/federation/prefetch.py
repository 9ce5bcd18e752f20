"""Background thumbnail prefetch: every missing thumbnail of a peer, after a sync added pictures.

The sync itself prefetches only the first thumbnails (``sync.PREFETCH_PER_RUN``) so it
stays fast; it then queues one ``federation.prefetch`` job for the peer (de-duplicated,
low priority). A run fetches at most ``SALON_FEDERATION_PREFETCH_BATCH`` thumbnails,
newest pictures first (the order of the grids), through the proxy's ``fetch_cached``;
when more are missing it queues the next run, which resumes below the last picture it
tried (so a thumbnail that failed is not tried again by the same chain). A chain stops
early when the proxy cache could no longer hold what it fetched (the next thumbnail
would make the cache evict the chain's own files), when the peer is no longer followed,
or after ``MAX_FAILURES_IN_A_ROW`` failures (the peer is probably down). Failures are
logged and counted, never raised: a missing thumbnail is fetched on demand later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.db import Database, Row
from app.errors import AppError
from app.jobs.queue import Queue
from app.queries import peers as peer_queries

log = logging.getLogger(__name__)

PREFETCH_KIND = "federation.prefetch"
PRIORITY = -10  # after every other job: thumbnails also arrive on demand
TIMEOUT_SECONDS = 1800
MAX_FAILURES_IN_A_ROW = 10


@dataclass
class PrefetchRun:
    peer_id: int
    below: int | None = None  # resume under this image id (None: from the newest)
    top: int = 0  # the newest picture when the chain started
    chain_bytes: int = 0  # bytes this chain fetched so far (all still in the cache)
    largest: int = 0  # the largest thumbnail the chain fetched: the next one's estimate
    fetched: int = 0
    failed: int = 0
    failures_in_a_row: int = 0
    stopped: str = ""
    next_job: int | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"peer_id": self.peer_id, "fetched": self.fetched, "failed": self.failed,
                "below": self.below, "top": self.top, "chain_bytes": self.chain_bytes,
                "stopped": self.stopped, "next_job": self.next_job, "errors": self.errors[:20]}


def enqueue_prefetch(db: Database, peer_id: int, run: PrefetchRun | None = None) -> int:
    """Queue a prefetch run for the peer: the first of a chain (at most one pending per
    peer) or, given the run that stopped, the chain's next run (one per resume point)."""
    payload: dict[str, Any] = {"peer_id": peer_id}
    key = f"{PREFETCH_KIND}:{peer_id}"
    if run is not None and run.below is not None:
        payload.update(below=run.below, top=run.top, chain_bytes=run.chain_bytes,
                       largest=run.largest)
        key = f"{key}:below-{run.below}"
    return Queue(db).enqueue(PREFETCH_KIND, payload, dedupe_key=key, priority=PRIORITY,
                             max_attempts=1, timeout_seconds=TIMEOUT_SECONDS)


def missing_thumbnails(db: Database, peer_id: int, below: int | None,
                       limit: int) -> list[Row]:
    """The peer's pictures without a cached thumbnail, newest first, under ``below``."""
    return db.all(
        "SELECT i.id, i.remote_id FROM images i WHERE i.peer_id = ? AND i.id < ?"
        " AND NOT EXISTS (SELECT 1 FROM proxy_cache c WHERE c.peer_id = i.peer_id"
        " AND c.remote_id = i.remote_id AND c.variant = 'thumb')"
        " ORDER BY i.id DESC LIMIT ?",
        (peer_id, below if below is not None else 2**62, limit))


def newest_remote(db: Database, peer_id: int) -> int:
    return int(db.value("SELECT coalesce(max(id), 0) FROM images WHERE peer_id = ?",
                        (peer_id,)))


def prefetch_run(db: Database, config: Mapping[str, Any],
                 payload: Mapping[str, Any]) -> PrefetchRun:
    """One bounded run of the chain described by ``payload``; queues the next run."""
    peer_id = int(payload["peer_id"])
    below = payload.get("below")
    run = PrefetchRun(peer_id, None if below is None else int(below),
                      int(payload.get("top") or newest_remote(db, peer_id)),
                      int(payload.get("chain_bytes") or 0), int(payload.get("largest") or 0))
    batch = int(config["FEDERATION_PREFETCH_BATCH"])
    rows = missing_thumbnails(db, peer_id, run.below if run.below is not None else run.top + 1,
                              batch + 1)
    for row in rows[:batch]:
        peer = _may_continue(db, config, run)
        if peer is None:
            break
        _fetch_one(db, config, run, peer, row)
    else:
        _queue_next(db, run, more=len(rows) > batch)
    _report(run)
    return run


def _queue_next(db: Database, run: PrefetchRun, more: bool) -> None:
    """Resume below where this run stopped; at the chain's end, start a new chain when
    pictures newer than its start arrived meanwhile (a sync during the chain)."""
    if more:
        run.next_job = enqueue_prefetch(db, run.peer_id, run)
    elif (newest := missing_thumbnails(db, run.peer_id, None, 1)) and newest[0]["id"] > run.top:
        run.next_job = enqueue_prefetch(db, run.peer_id)


def _may_continue(db: Database, config: Mapping[str, Any], run: PrefetchRun) -> Row | None:
    """The peer when the chain may fetch another thumbnail; None (and why) otherwise."""
    peer = peer_queries.get_peer(db, run.peer_id)
    if peer is None or peer["blocked"] or peer["following"] != "approved":
        run.stopped = "the peer is no longer followed"
    elif run.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
        run.stopped = f"{run.failures_in_a_row} failures in a row"
    elif run.chain_bytes + run.largest > int(config["PROXY_CACHE_MB"]) * 2**20:
        # The cache evicts least recently used first: past this point the next
        # thumbnail would push out one this chain has just fetched.
        run.stopped = "the proxy cache is full of this chain's thumbnails"
    return None if run.stopped else peer


def _fetch_one(db: Database, config: Mapping[str, Any], run: PrefetchRun, peer: Row,
               row: Row) -> None:
    from app.federation.proxy import fetch_cached

    run.below = int(row["id"])
    try:
        media = fetch_cached(db, dict(config), peer, str(row["remote_id"]), "thumb")
    except Exception as error:  # one missing thumbnail never stops the others
        reason = getattr(error, "reason", None) or (
            error.message if isinstance(error, AppError) else f"{type(error).__name__}: {error}")
        run.failed += 1
        run.failures_in_a_row += 1
        run.errors.append(f"{row['remote_id']}: {reason}")
        log.warning("peer %s: thumbnail %s not prefetched: %s", run.peer_id, row["remote_id"],
                    reason)
        return
    run.fetched += 1
    run.failures_in_a_row = 0
    run.chain_bytes += media.size
    run.largest = max(run.largest, media.size)


def _report(run: PrefetchRun) -> None:
    if run.stopped:
        log.warning("peer %s: thumbnail prefetch stopped: %s", run.peer_id, run.stopped)
    log.info("peer %s: %d thumbnail(s) prefetched, %d failed%s", run.peer_id, run.fetched,
             run.failed, f"; next run: job {run.next_job}" if run.next_job else "")
