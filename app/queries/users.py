"""Queries over ``users``."""

from __future__ import annotations

import json
from typing import Any

from app.db import Database, Row

PUBLIC_COLUMNS = "id, username, role, disabled, preferences, created_at"


def count_users(db: Database) -> int:
    return int(db.value("SELECT count(*) FROM users"))


def get_user(db: Database, user_id: int) -> Row | None:
    return db.one(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE id = ?", (user_id,))


def get_user_with_hash(db: Database, username: str) -> Row | None:
    return db.one(
        f"SELECT {PUBLIC_COLUMNS}, password_hash FROM users WHERE username = ?", (username,)
    )


def list_users(db: Database) -> list[Row]:
    """People's accounts: a peer's shadow account (owner of its pictures here) is left out."""
    return db.all(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE id NOT IN"
                  " (SELECT user_id FROM peers WHERE user_id IS NOT NULL) ORDER BY username")


def insert_user(db: Database, username: str, password_hash: str, role: str) -> int:
    return db.execute(
        "INSERT INTO users (username, password_hash, role) VALUES (?, ?, ?)",
        (username, password_hash, role),
    )


def update_password_hash(db: Database, user_id: int, password_hash: str) -> None:
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def update_user(db: Database, user_id: int, *, role: str, disabled: bool) -> None:
    db.execute(
        "UPDATE users SET role = ?, disabled = ? WHERE id = ?", (role, int(disabled), user_id)
    )


def count_active_admins(db: Database) -> int:
    return int(db.value("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0"))


def set_preferences(db: Database, user_id: int, preferences: dict[str, Any]) -> None:
    db.execute(
        "UPDATE users SET preferences = ? WHERE id = ?",
        (json.dumps(preferences, sort_keys=True), user_id),
    )
