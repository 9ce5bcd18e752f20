"""Push: tell followers that the change feed moved, so they sync within seconds.

The feed stays the only channel for content: a notification carries nothing but
the newest sequence number, and it is signed like every server-to-server request.

Origin side: the worker's supervisor asks ``push_due`` every few seconds (a few
indexed reads); when the feed moved past what followers were last told, it queues
the ``federation.push`` job, which POSTs ``{"latest": SEQ}`` to every approved
follower's ``/federation/v1/notify``. Best effort: a follower that is down is
logged and catches up on its periodic sync.

Follower side (``receive_notify``): only a peer we follow (approved, not
blocked) may notify; a number we already have changes nothing. Otherwise a sync
of that peer is queued (one pending at most, and not sooner than
``MIN_INTERVAL`` after the last one, so a chatty or hostile peer cannot keep the
worker busy), and the peer's ``notified`` count goes up: a sync running at that
moment sees the count changed when it ends and is followed by another one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.db import Database, Row
from app.errors import AppError, BadRequest, Forbidden

log = logging.getLogger(__name__)

PUSH_KIND = "federation.push"
NOTIFY_PATH = "/federation/v1/notify"
MIN_INTERVAL = 10.0  # seconds between notification-triggered syncs of one peer


def latest_seq(db: Database) -> int:
    return int(db.value("SELECT COALESCE(MAX(seq), 0) FROM federation_changes"))


def pushed_seq(db: Database) -> int:
    return int(db.value("SELECT pushed FROM federation_push WHERE id = 1") or 0)


def approved_followers(db: Database) -> list[Row]:
    return db.all("SELECT id, name, base_url FROM peers WHERE follower = 'approved'"
                  " AND blocked = 0 ORDER BY id")


def push_due(db: Database, config: Mapping[str, Any]) -> bool:
    """True when followers have not yet been told about the newest change."""
    if not config["FEDERATION_PUSH"]:
        return False
    return latest_seq(db) > pushed_seq(db) and bool(approved_followers(db))


def push_now(db: Database, config: Mapping[str, Any]) -> dict[str, Any]:
    """Notify every approved follower of the newest sequence number; never raises for
    one follower's failure."""
    from app.federation.peers import ANSWER_MAX_BYTES
    from app.federation.transport import signed

    latest = latest_seq(db)
    sent, failed = 0, []
    for peer in approved_followers(db):
        url = str(peer["base_url"]).rstrip("/") + NOTIFY_PATH
        try:
            answer = signed(config, "POST", url, body={"latest": latest},
                            max_bytes=ANSWER_MAX_BYTES)
        except AppError as error:
            failed.append(f"{peer['name']}: {error.message}")
            continue
        if answer.status in (200, 202):
            sent += 1
        else:
            failed.append(f"{peer['name']}: HTTP {answer.status}")
    with db.transaction():
        db.execute("UPDATE federation_push SET pushed = MAX(pushed, ?) WHERE id = 1", (latest,))
    for failure in failed:
        log.info("push to %s failed (it will catch up on its timer)", failure)
    return {"latest": latest, "sent": sent, "failed": failed}


def receive_notify(db: Database, peer: Row, body: Any) -> bool:
    """A followed peer says its feed moved; True when a sync was queued."""
    from app.federation.jobs import enqueue_sync

    if peer["blocked"] or peer["following"] != "approved":
        raise Forbidden("This instance does not follow yours.")
    latest = body.get("latest") if isinstance(body, dict) else None
    if not isinstance(latest, int) or isinstance(latest, bool) or latest < 0:
        raise BadRequest("latest must be a whole number of 0 or more.", field="latest")
    if latest <= int(peer["cursor"]):
        return False
    with db.transaction():
        db.execute("UPDATE peers SET notified = notified + 1 WHERE id = ?", (peer["id"],))
    enqueue_sync(db, int(peer["id"]), delay=_wait(peer["last_sync_at"]))
    return True


def _wait(last_sync_at: str | None) -> float:
    if not last_sync_at:
        return 0.0
    try:
        last = datetime.fromisoformat(last_sync_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
    return max(0.0, min(MIN_INTERVAL, last + MIN_INTERVAL - time.time()))
