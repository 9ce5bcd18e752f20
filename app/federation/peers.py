"""Following and being followed: add, approve, deny, unfollow, block, unblock.

Both directions live on one ``peers`` row: ``following`` is our follow of
them (none → requested → approved/denied), ``follower`` theirs of us (none →
pending → approved/denied). Every state is stored before anything is sent;
messages to the other side after an admin's decision are best effort (the
follower also learns from its next sync, which the feed answers with 403
until it is approved). Unfollowing or blocking removes their pictures here
and their cached media.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.db import Database, Row
from app.errors import AppError, BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from app.federation.apply import delete_all
from app.federation.jobs import enqueue_sync
from app.federation.remote import FeedError
from app.federation.transport import (
    DOCUMENT_PATH,
    Document,
    fetch_document,
    normalise_url,
    signed,
)
from app.queries import peers as peer_queries
from app.queries.settings import get_setting, set_setting

log = logging.getLogger(__name__)

ANSWER_MAX_BYTES = 64 * 1024
ACTIONS = ("approve", "deny", "block", "unblock", "unfollow", "sync")


def own_url(config: Mapping[str, Any]) -> str:
    return str(config["BASE_URL"]).rstrip("/")


def _peer(db: Database, peer_id: int) -> Row:
    row = peer_queries.get_peer(db, peer_id)
    if row is None:
        raise NotFound(f"No peer {peer_id}.")
    return row


# -- our side: following them ---------------------------------------------------------


def add_peer(db: Database, config: Mapping[str, Any], url: str) -> Row:
    """Fetch the peer's instance document, store it, and send a signed follow request."""
    base_url = normalise_url(url)
    if base_url == own_url(config):
        raise BadRequest("That is this instance's own address.", field="url")
    document = fetch_document(config, base_url)
    with db.transaction():
        row = peer_queries.upsert_peer(db, document.base_url, document.name, document.keys)
        if row["blocked"]:
            raise Conflict(f"{base_url} is blocked; unblock it first.", field="url")
        peer_queries.ensure_shadow_user(db, row)
    try:
        answer = signed(config, "POST", f"{base_url}/federation/v1/follow",
                        body={"base_url": own_url(config), "name": config["INSTANCE_NAME"]},
                        max_bytes=ANSWER_MAX_BYTES)
        state = _follow_outcome(answer.status, answer.body)
    except AppError as error:
        with db.transaction():
            peer_queries.set_states(db, row["id"], last_error=error.message[:1000])
        raise
    with db.transaction():
        peer_queries.set_states(db, row["id"], following=state,
                                last_error=None if state != "denied" else "Follow refused.")
    log.info("follow request to %s: %s", base_url, state)
    return _peer(db, row["id"])


def _follow_outcome(status: int, body: Any) -> str:
    if status == 403:
        return "denied"
    if status not in (200, 202) or not isinstance(body, dict):
        reason = body.get("error") if isinstance(body, dict) else None
        raise FeedError(f"The peer refused the follow request (HTTP {status}"
                        + (f": {str(reason)[:200]}" if reason else "") + ").")
    return "approved" if body.get("state") == "approved" else "requested"


def unfollow(db: Database, config: Mapping[str, Any], peer_id: int) -> int:
    """Stop following: tell them (best effort), forget their pictures and media here."""
    peer = _peer(db, peer_id)
    if peer["following"] != "none" and not peer["blocked"]:
        _notify(config, peer, "DELETE", "/federation/v1/follow", None)
    with db.transaction():
        peer_queries.set_states(db, peer_id, following="none", cursor=0, next_sync_at=None,
                                failures=0)
    return _forget_content(db, config, peer_id)


def block(db: Database, config: Mapping[str, Any], peer_id: int) -> int:
    """Refuse everything from the peer and forget everything we have of it."""
    _peer(db, peer_id)
    with db.transaction():
        peer_queries.set_states(db, peer_id, blocked=1, following="none", follower="none",
                                cursor=0, next_sync_at=None, failures=0)
    return _forget_content(db, config, peer_id)


def unblock(db: Database, peer_id: int) -> None:
    _peer(db, peer_id)
    with db.transaction():
        peer_queries.set_states(db, peer_id, blocked=0)


def _forget_content(db: Database, config: Mapping[str, Any], peer_id: int) -> int:
    from app.federation.proxy import drop_peer_cache

    removed = delete_all(db, peer_id)
    drop_peer_cache(db, dict(config), peer_id)
    log.info("peer %s: %d remote picture(s) and the cached media removed", peer_id, removed)
    return removed


# -- their side: following us ---------------------------------------------------------


def decide(db: Database, config: Mapping[str, Any], peer_id: int, state: str) -> Row:
    """An admin approves or denies a follower; the follower is told (best effort)."""
    if state not in ("approved", "denied"):
        raise BadRequest("Approve or deny.", field="state")
    peer = _peer(db, peer_id)
    if peer["follower"] == "none" or peer["blocked"]:
        raise Conflict(f"{peer['name']} has not asked to follow this instance.")
    with db.transaction():
        peer_queries.set_states(db, peer_id, follower=state)
    _notify(config, peer, "POST", "/federation/v1/follow/decision", {"state": state})
    return _peer(db, peer_id)


def _notify(config: Mapping[str, Any], peer: Row, method: str, path: str, body: Any) -> None:
    try:
        answer = signed(config, method, peer["base_url"] + path, body=body,
                        max_bytes=ANSWER_MAX_BYTES)
        log.info("%s %s%s: HTTP %s", method, peer["base_url"], path, answer.status)
    except AppError as error:
        log.warning("%s %s%s failed: %s", method, peer["base_url"], path, error.message)


@dataclass
class KeyResolver:
    """Finds a signing key: a known peer's stored keys (refreshed once from its document
    when the key is new, e.g. after a rotation), or, for a follow request only, the
    document of the instance the key id names."""

    db: Database
    config: Mapping[str, Any]
    allow_new: bool = False
    peer: Row | None = None
    document: Document | None = None
    refreshed: bool = field(default=False)

    def __call__(self, key_id: str) -> Any:
        from app.federation.identity import public_key_from_b64

        base_url = _base_of(key_id)
        if base_url is None:
            return None
        self.peer = peer_queries.peer_by_url(self.db, base_url)
        if self.peer is None and not self.allow_new:
            return None
        keys = peer_queries.peer_keys(self.peer) if self.peer is not None else []
        found = _find_key(keys, key_id)
        if found is None:
            found = _find_key(self._refresh(base_url), key_id)
        try:
            return None if found is None else public_key_from_b64(found["public_key"])
        except ValueError:
            return None

    def _refresh(self, base_url: str) -> list[dict[str, Any]]:
        if self.peer is not None and self.peer["blocked"]:
            return []
        try:
            self.document = fetch_document(self.config, base_url)
        except AppError as error:
            log.info("could not fetch the instance document of %s: %s", base_url,
                     error.message)
            return []
        if self.peer is not None:
            with self.db.transaction():
                self.peer = peer_queries.upsert_peer(self.db, base_url, self.document.name,
                                                     self.document.keys)
        return self.document.keys


def _base_of(key_id: str) -> str | None:
    head, hash_mark, _ = key_id.partition("#")
    if not hash_mark or not head.endswith(DOCUMENT_PATH):
        return None
    try:
        return normalise_url(head.removesuffix(DOCUMENT_PATH))
    except AppError:
        return None


def _find_key(keys: list[dict[str, Any]], key_id: str) -> dict[str, Any] | None:
    return next((key for key in keys if key.get("id") == key_id), None)


def known_peer(resolver: KeyResolver) -> Row:
    """After verification: the signer's peer row, refused when blocked."""
    peer = resolver.peer
    if peer is None:
        raise Unauthorized("signature rejected", reason="unknown key")
    if peer["blocked"]:
        raise Forbidden("This instance does not talk to yours.", state="blocked")
    return peer


def receive_follow(db: Database, config: Mapping[str, Any], resolver: KeyResolver,
                   key_id: str, body: Any) -> str:
    """A verified follow request: store the follower as pending (or approved)."""
    claimed = body.get("base_url") if isinstance(body, dict) else None
    if not isinstance(claimed, str) or normalise_url(claimed) != _base_of(key_id):
        raise BadRequest("base_url must be the address the signing key belongs to.",
                         field="base_url")
    if resolver.peer is not None and resolver.peer["blocked"]:
        raise Forbidden("This instance does not accept follows from yours.", state="blocked")
    document = resolver.document or fetch_document(config, normalise_url(claimed))
    auto = auto_approve(db)
    with db.transaction():
        row = peer_queries.upsert_peer(db, document.base_url, document.name, document.keys)
        state = "approved" if row["follower"] == "approved" or auto else "pending"
        peer_queries.set_states(db, row["id"], follower=state)
    log.info("follow request from %s: %s", document.base_url, state)
    return state


def receive_unfollow(db: Database, peer: Row) -> None:
    with db.transaction():
        peer_queries.set_states(db, peer["id"], follower="none")


def receive_decision(db: Database, config: Mapping[str, Any], peer: Row, body: Any) -> str:
    """The peer we asked to follow decided; a denial also removes what we had of it."""
    state = body.get("state") if isinstance(body, dict) else None
    if state not in ("approved", "denied"):
        raise BadRequest("state must be 'approved' or 'denied'.", field="state")
    if peer["following"] == "none":
        raise Conflict("This instance did not ask to follow yours.")
    with db.transaction():
        peer_queries.set_states(db, peer["id"], following=state,
                                next_sync_at=None if state == "approved" else peer["next_sync_at"])
    if state == "denied":
        _forget_content(db, config, peer["id"])
    return str(state)


# -- what an admin sees and does (the pages, the API, the CLI) -------------------------


@dataclass(frozen=True)
class Outcome:
    """What an admin's action on a peer did, in words; a sync also names its job."""

    message: str
    job_id: int | None = None


def perform(db: Database, config: Mapping[str, Any], peer_id: int, action: str,
            requested_by: int | None = None) -> Outcome:
    """One of ``ACTIONS`` on a peer; NotFound for an unknown peer."""
    if action not in ACTIONS:
        raise BadRequest(f"Unknown action {action!r}.", field="action")
    if action in ("approve", "deny"):
        row = decide(db, config, peer_id, "approved" if action == "approve" else "denied")
        return Outcome(f"{row['name']} is {row['follower']} as a follower.")
    if action == "sync":
        _peer(db, peer_id)
        job_id = enqueue_sync(db, peer_id, requested_by)
        return Outcome(f"Sync queued (job {job_id}).", job_id)
    if action == "unblock":
        unblock(db, peer_id)
        return Outcome("Unblocked.")
    removed = (block if action == "block" else unfollow)(db, config, peer_id)
    return Outcome(f"{action.capitalize()}ed; {removed} remote picture(s) removed.")


def auto_approve(db: Database) -> bool:
    return bool(get_setting(db, "federation.auto_approve"))


def set_auto_approve(db: Database, value: bool) -> None:
    with db.transaction():
        set_setting(db, "federation.auto_approve", value)


def overview(db: Database, config: Mapping[str, Any]) -> dict[str, Any]:
    """Every peer described, the auto-approve setting and this instance's address."""
    return {"peers": [describe(row) for row in peer_queries.list_peers(db)],
            "auto_approve": auto_approve(db), "own_url": own_url(config)}


def details(db: Database, peer_id: int) -> dict[str, Any]:
    """One peer described with the number of its pictures here; NotFound when unknown."""
    row = _peer(db, peer_id)
    return describe({**row, "pictures": peer_queries.picture_count(db, peer_id)})


def sync_history(db: Database, peer_id: int) -> list[Row]:
    """The peer's sync runs, newest first; NotFound when unknown."""
    _peer(db, peer_id)
    return peer_queries.sync_log(db, peer_id)


def describe(row: Row) -> dict[str, Any]:
    """A peer as the CLI, the pages and the API show it."""
    return {"id": row["id"], "name": row["name"], "base_url": row["base_url"],
            "following": row["following"], "follower": row["follower"],
            "blocked": bool(row["blocked"]), "cursor": row["cursor"],
            "pictures": row.get("pictures"), "last_sync_at": row["last_sync_at"],
            "next_sync_at": row["next_sync_at"], "failures": row["failures"],
            "last_error": row["last_error"]}
