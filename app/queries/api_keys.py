"""Queries over ``api_keys``; only hashes of keys are ever stored."""

from __future__ import annotations

from app.db import Database, Row


def insert_api_key(db: Database, user_id: int, name: str, prefix: str, key_hash: str) -> int:
    return db.execute(
        "INSERT INTO api_keys (user_id, name, prefix, key_hash) VALUES (?, ?, ?, ?)",
        (user_id, name, prefix, key_hash),
    )


def list_api_keys(db: Database, user_id: int) -> list[Row]:
    return db.all(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys"
        " WHERE user_id = ? ORDER BY id DESC",
        (user_id,),
    )


def find_live_key(db: Database, key_hash: str) -> Row | None:
    return db.one(
        "SELECT k.id, k.user_id, k.last_used_at FROM api_keys k"
        " JOIN users u ON u.id = k.user_id"
        " WHERE k.key_hash = ? AND k.revoked_at IS NULL AND u.disabled = 0",
        (key_hash,),
    )


def touch_api_key(db: Database, key_id: int) -> None:
    db.execute(
        "UPDATE api_keys SET last_used_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
        (key_id,),
    )


def revoke_api_key(db: Database, user_id: int, key_id: int) -> bool:
    db.execute(
        "UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
        " WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        (key_id, user_id),
    )
    return db.changes() == 1
