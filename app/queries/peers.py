"""Queries over ``peers``, ``peer_sync_log`` and the peers' shadow accounts."""

from __future__ import annotations

import json
import time
from typing import Any

from app.db import Database, Row

NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
# A shadow account's password hash is no Argon2 hash, so no password matches it.
NO_PASSWORD = "!federation-shadow-account"  # noqa: S105 (not a secret: matches nothing)


def get_peer(db: Database, peer_id: int) -> Row | None:
    return db.one("SELECT * FROM peers WHERE id = ?", (peer_id,))


def peer_by_url(db: Database, base_url: str) -> Row | None:
    return db.one("SELECT * FROM peers WHERE base_url = ?", (base_url,))


def list_peers(db: Database) -> list[Row]:
    return db.all(
        "SELECT p.*, (SELECT count(*) FROM images i WHERE i.peer_id = p.id) AS pictures"
        " FROM peers p ORDER BY p.name COLLATE NOCASE, p.id")


def picture_count(db: Database, peer_id: int) -> int:
    return int(db.value("SELECT count(*) FROM images WHERE peer_id = ?", (peer_id,)))


def peer_keys(row: Row) -> list[dict[str, Any]]:
    keys = json.loads(row["keys"] or "[]")
    return keys if isinstance(keys, list) else []


def upsert_peer(db: Database, base_url: str, name: str, keys: list[dict[str, Any]]) -> Row:
    """The peer's row, created or refreshed from its instance document."""
    db.execute(
        "INSERT INTO peers (base_url, name, keys) VALUES (?, ?, ?)"
        f" ON CONFLICT (base_url) DO UPDATE SET name = excluded.name, keys = excluded.keys,"
        f" updated_at = {NOW}", (base_url, name, json.dumps(keys)))
    row = peer_by_url(db, base_url)
    assert row is not None
    return row


def set_states(db: Database, peer_id: int, **states: Any) -> None:
    """Update some of: following, follower, blocked, cursor, last_error, failures, next_sync_at."""
    allowed = {"following", "follower", "blocked", "cursor", "last_error", "failures",
               "next_sync_at", "last_sync_at", "user_id"}
    names = [name for name in states if name in allowed]
    if len(names) != len(states):
        raise ValueError(f"unknown peer fields: {set(states) - allowed}")
    assignments = ", ".join(f"{name} = ?" for name in names)
    db.execute(f"UPDATE peers SET {assignments}, updated_at = {NOW} WHERE id = ?",
               [*(states[name] for name in names), peer_id])


def ensure_shadow_user(db: Database, peer: Row) -> int:
    """The disabled account that owns the peer's pictures here (made once)."""
    if peer["user_id"] is not None:
        return int(peer["user_id"])
    # '#' is not allowed in usernames, so no one can register this name.
    username = f"peer#{peer['id']}"
    db.execute(
        "INSERT INTO users (username, password_hash, role, disabled) VALUES (?, ?, 'user', 1)"
        " ON CONFLICT (username) DO NOTHING", (username, NO_PASSWORD))
    user_id = int(db.value("SELECT id FROM users WHERE username = ?", (username,)))
    set_states(db, peer["id"], user_id=user_id)
    return user_id


def shadow_user_ids(db: Database) -> set[int]:
    return {row["user_id"] for row in db.all(
        "SELECT user_id FROM peers WHERE user_id IS NOT NULL")}


def due_for_sync(db: Database, now_iso: str) -> list[int]:
    """Followed (or asked) peers whose next sync time has come (or was never set): a
    requested follow learns from the feed's answer whether it was approved meanwhile."""
    return [row["id"] for row in db.all(
        "SELECT id FROM peers WHERE following IN ('requested', 'approved') AND blocked = 0"
        " AND (next_sync_at IS NULL OR next_sync_at <= ?) ORDER BY id", (now_iso,))]


def approved_follower(db: Database, peer_id: int) -> bool:
    return db.one("SELECT 1 FROM peers WHERE id = ? AND follower = 'approved' AND blocked = 0",
                  (peer_id,)) is not None


def remote_image_ids(db: Database, peer_id: int) -> list[int]:
    return [row["id"] for row in db.all("SELECT id FROM images WHERE peer_id = ?", (peer_id,))]


def find_remote(db: Database, peer_id: int, remote_id: str) -> Row | None:
    return db.one("SELECT id, owner_id FROM images WHERE peer_id = ? AND remote_id = ?",
                  (peer_id, remote_id))


# -- the sync log ---------------------------------------------------------------------


def start_log(db: Database, peer_id: int) -> int:
    """A new log entry; one a killed sync left open is closed as interrupted."""
    db.execute("UPDATE peer_sync_log SET finished_at = ?, error = 'interrupted'"
               " WHERE peer_id = ? AND finished_at IS NULL", (_iso(time.time()), peer_id))
    return db.execute("INSERT INTO peer_sync_log (peer_id, started_at) VALUES (?, ?)",
                      (peer_id, _iso(time.time())))


def add_to_log(db: Database, log_id: int, pages: int, upserts: int, deletes: int) -> None:
    db.execute("UPDATE peer_sync_log SET pages = pages + ?, upserts = upserts + ?,"
               " deletes = deletes + ? WHERE id = ?", (pages, upserts, deletes, log_id))


def finish_log(db: Database, log_id: int, error: str | None) -> None:
    db.execute("UPDATE peer_sync_log SET finished_at = ?, error = ? WHERE id = ?",
               (_iso(time.time()), error, log_id))


def sync_log(db: Database, peer_id: int, limit: int = 50) -> list[Row]:
    return db.all("SELECT * FROM peer_sync_log WHERE peer_id = ? ORDER BY id DESC LIMIT ?",
                  (peer_id, limit))


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def iso(moment: float) -> str:
    """A UTC timestamp in the schema's text format."""
    return _iso(moment)
