"""Pull a followed peer's change feed until caught up (the ``federation.sync`` job).

Each page is fetched signed, checked whole (``remote.parse_page``), then
stored with the cursor in one transaction (``apply.apply_page``). Loops are
bounded: pages per run, changes per page, bytes per answer (the guarded
client), thumbnails prefetched per run (the rest by a ``federation.prefetch`` job queued
afterwards, see ``prefetch.py``). Success schedules the next sync
``SALON_FEDERATION_SYNC_MINUTES`` later; a failure is logged on the peer
(``peer_sync_log``, ``last_error``) and backs off exponentially.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.db import Database, Row
from app.errors import AppError, NotFound
from app.federation.apply import apply_page
from app.federation.proxy import remove_files
from app.federation.remote import FeedError, parse_page
from app.federation.transport import signed
from app.queries import peers as peer_queries

log = logging.getLogger(__name__)

PAGE_LIMIT = 500
MAX_PAGES = 400
PAGE_MAX_BYTES = 8 * 2**20
PREFETCH_PER_RUN = 120
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600

# (peer row, cursor, limit) -> the feed page's parsed JSON
Fetch = Callable[[Row, int, int], Any]
Prefetch = Callable[[Row, str], None]


@dataclass
class SyncResult:
    peer_id: int
    pages: int = 0
    upserts: int = 0
    deletes: int = 0
    prefetched: int = 0
    more: bool = False
    cursor: int = 0
    prefetch_job: int | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"peer_id": self.peer_id, "pages": self.pages, "upserts": self.upserts,
                "deletes": self.deletes, "prefetched": self.prefetched, "more": self.more,
                "cursor": self.cursor, "prefetch_job": self.prefetch_job}


class NotApproved(AppError):
    status = 403


def feed_fetcher(config: Mapping[str, Any]) -> Fetch:
    """Fetch pages over HTTP, signed, through the guarded client."""
    def fetch(peer: Row, cursor: int, limit: int) -> Any:
        url = f"{peer['base_url']}/federation/v1/changes?after={cursor}&limit={limit}"
        answer = signed(config, "GET", url, max_bytes=PAGE_MAX_BYTES)
        if answer.status == 403 and isinstance(answer.body, dict):
            raise NotApproved(f"{peer['name']} has not approved us ({answer.body.get('state')}).",
                              state=str(answer.body.get("state", "denied"))[:20])
        if answer.status != 200:
            raise FeedError(f"The feed answered HTTP {answer.status}.")
        return answer.body

    return fetch


def thumbnail_prefetcher(db: Database, config: Mapping[str, Any]) -> Prefetch:
    """Fill the proxy's cache with a picture's thumbnail (the grid needs it first)."""
    def prefetch(peer: Row, remote_id: str) -> None:
        from app.federation.proxy import fetch_cached

        fetch_cached(db, dict(config), peer, remote_id, "thumb")

    return prefetch


def sync_peer(db: Database, config: Mapping[str, Any], peer_id: int, *,
              fetch: Fetch | None = None, prefetch: Prefetch | None = None,
              limit: int = PAGE_LIMIT, max_pages: int = MAX_PAGES,
              progress: Callable[[SyncResult], None] | None = None) -> SyncResult:
    """Page the peer's feed until caught up (or ``max_pages``); raises on failure."""
    peer = _syncable(db, peer_id)
    fetch = fetch or feed_fetcher(config)
    result = SyncResult(peer_id, cursor=int(peer["cursor"]))
    with db.transaction():
        log_id = peer_queries.start_log(db, peer_id)
    try:
        _pages(db, config, peer, result, fetch, prefetch, limit, max_pages, log_id, progress)
    except Exception as error:
        _failed(db, config, peer, log_id, error)
        raise
    finally:
        if prefetch is not None and result.upserts:
            _queue_prefetch(db, peer, result)
    _succeeded(db, config, peer, log_id, result)
    return result


def _queue_prefetch(db: Database, peer: Row, result: SyncResult) -> None:
    """The rest of the thumbnails come from a background job; queuing it never fails
    the sync."""
    from app.federation.prefetch import enqueue_prefetch, missing_thumbnails

    try:
        if missing_thumbnails(db, peer["id"], None, 1):
            result.prefetch_job = enqueue_prefetch(db, peer["id"])
    except Exception as error:
        log.warning("peer %s: thumbnail prefetch not queued: %s", peer["id"], error)


def _syncable(db: Database, peer_id: int) -> Row:
    peer = peer_queries.get_peer(db, peer_id)
    if peer is None:
        raise NotFound(f"No peer {peer_id}.")
    if peer["blocked"] or peer["following"] not in ("requested", "approved"):
        raise AppError(f"We do not follow {peer['name']} (state {peer['following']}).",
                       status=409)
    return peer


def _pages(db: Database, config: Mapping[str, Any], peer: Row, result: SyncResult, fetch: Fetch,
           prefetch: Prefetch | None, limit: int, max_pages: int, log_id: int,
           progress: Callable[[SyncResult], None] | None) -> None:
    for _ in range(max_pages):
        page = parse_page(fetch(peer, result.cursor, limit), cursor=result.cursor, limit=limit,
                          base_url=peer["base_url"])
        applied = apply_page(db, peer["id"], result.cursor, page)
        remove_files(config, applied.uncached)
        result.pages += 1
        result.upserts += len(applied.upserted)
        result.deletes += applied.deleted
        result.cursor = page.next_after
        with db.transaction():
            peer_queries.add_to_log(db, log_id, 1, len(applied.upserted), applied.deleted)
        if prefetch is not None:
            _prefetch(peer_queries.get_peer(db, peer["id"]) or peer, applied.upserted, prefetch,
                      result)
        if progress is not None:
            progress(result)
        if not page.more:
            result.more = False
            return
        result.more = True


def _prefetch(peer: Row, remote_ids: list[str], prefetch: Prefetch, result: SyncResult) -> None:
    for remote_id in remote_ids:
        if result.prefetched >= PREFETCH_PER_RUN:
            return
        try:
            prefetch(peer, remote_id)
            result.prefetched += 1
        except Exception as error:  # a missing thumbnail never fails the sync
            result.prefetched += 1
            result.errors.append(f"thumbnail {remote_id}: {error}")
            log.info("peer %s: thumbnail %s not prefetched: %s", peer["id"], remote_id, error)


def _succeeded(db: Database, config: Mapping[str, Any], peer: Row, log_id: int,
               result: SyncResult) -> None:
    now = time.time()
    current = peer_queries.get_peer(db, peer["id"]) or peer
    # Not caught up yet, or the peer notified us of a change while we were syncing: soon.
    again = result.more or current["notified"] != peer["notified"]
    wait = 0 if again else int(config["FEDERATION_SYNC_MINUTES"]) * 60
    with db.transaction():
        peer_queries.set_states(db, peer["id"], failures=0,
                                last_error=None, last_sync_at=peer_queries.iso(now),
                                next_sync_at=peer_queries.iso(now + wait))
        peer_queries.finish_log(db, log_id, None)
    log.info("peer %s synced: %d page(s), %d upsert(s), %d delete(s)", peer["id"],
             result.pages, result.upserts, result.deletes)


def backoff_seconds(failures: int) -> int:
    return int(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, failures - 1)))


def _failed(db: Database, config: Mapping[str, Any], peer: Row, log_id: int,
            error: Exception) -> None:
    message = error.message if isinstance(error, AppError) else f"{type(error).__name__}: {error}"
    current = peer_queries.get_peer(db, peer["id"]) or peer
    failures = int(current["failures"]) + 1
    states: dict[str, Any] = {
        "failures": failures, "last_error": message[:1000],
        "next_sync_at": peer_queries.iso(time.time() + backoff_seconds(failures))}
    if isinstance(error, NotApproved):
        states["following"] = "denied" if error.details.get("state") == "denied" else "requested"
    with db.transaction():
        peer_queries.set_states(db, peer["id"], **states)
        peer_queries.finish_log(db, log_id, message[:1000])
    log.warning("peer %s: sync failed (%d in a row): %s", peer["id"], failures, message)
