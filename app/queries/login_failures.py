"""Queries over ``login_failures``, the memory of the login rate limit."""

from __future__ import annotations

from app.db import Database


def record_failure(db: Database, username: str, address: str, now: float) -> None:
    db.execute(
        "INSERT INTO login_failures (username, address, failed_at) VALUES (?, ?, ?)",
        (username, address, now),
    )


def recent_failures(db: Database, username: str, address: str, since: float) -> tuple[int, int]:
    """Failures since ``since`` for this account and for this address."""
    by_user = db.value(
        "SELECT count(*) FROM login_failures WHERE username = ? AND failed_at > ?",
        (username, since),
    )
    by_address = db.value(
        "SELECT count(*) FROM login_failures WHERE address = ? AND failed_at > ?",
        (address, since),
    )
    return int(by_user), int(by_address)


def oldest_recent_failure(db: Database, username: str, address: str, since: float) -> float | None:
    value = db.value(
        "SELECT min(failed_at) FROM login_failures"
        " WHERE (username = ? OR address = ?) AND failed_at > ?",
        (username, address, since),
    )
    return None if value is None else float(value)


def clear_failures(db: Database, username: str) -> None:
    db.execute("DELETE FROM login_failures WHERE username = ?", (username,))


def prune_failures(db: Database, before: float) -> None:
    db.execute("DELETE FROM login_failures WHERE failed_at <= ?", (before,))
