"""Account rules: who may be created, who may log in, how often one may try."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from app.auth.passwords import hash_password, needs_rehash, verify_password
from app.db import Database, IntegrityError, Row
from app.errors import BadRequest, Conflict, TooManyRequests
from app.queries import login_failures as failures
from app.queries import users

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$")
MIN_PASSWORD = 10
ROLES = ("admin", "user")


@dataclass(frozen=True)
class RateLimit:
    attempts: int
    window_seconds: int


def validate_credentials(username: str, password: str) -> None:
    if not USERNAME.match(username or ""):
        raise BadRequest(
            "Usernames are 2–32 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            field="username",
        )
    if len(password or "") < MIN_PASSWORD:
        raise BadRequest(
            f"Passwords need at least {MIN_PASSWORD} characters.", field="password"
        )
    if password.lower() == username.lower():
        raise BadRequest("The password must differ from the username.", field="password")


def create_user(db: Database, username: str, password: str, role: str = "user") -> int:
    """Validate and insert an account; raise ``Conflict`` if the name is taken."""
    username = (username or "").strip()
    validate_credentials(username, password)
    if role not in ROLES:
        raise BadRequest(f"Role must be one of {', '.join(ROLES)}.", field="role")
    password_hash = hash_password(password)
    try:
        with db.transaction():
            return users.insert_user(db, username, password_hash, role)
    except IntegrityError:
        raise Conflict(f"The username {username!r} is taken.", field="username") from None


def create_first_admin(db: Database, username: str, password: str) -> int:
    """The setup page's action: only valid while no account exists."""
    with db.transaction():
        if users.count_users(db):
            raise Conflict("Salon is already set up; log in instead.")
        return create_user(db, username, password, role="admin")


def authenticate(db: Database, username: str, password: str, address: str,
                 limit: RateLimit, now: float | None = None) -> Row | None:
    """The user for these credentials, or None. Raises ``TooManyRequests``."""
    now = time.time() if now is None else now
    since = now - limit.window_seconds
    by_user, by_address = failures.recent_failures(db, username, address, since)
    if max(by_user, by_address) >= limit.attempts:
        oldest = failures.oldest_recent_failure(db, username, address, since) or now
        retry = max(1, int(oldest + limit.window_seconds - now) + 1)
        raise TooManyRequests(
            f"Too many failed logins. Try again in {retry} seconds.", retry_after=retry
        )
    user = users.get_user_with_hash(db, username)
    ok = verify_password(user["password_hash"] if user else None, password)
    if not ok or user is None or user["disabled"]:
        with db.transaction():
            failures.prune_failures(db, since)
            failures.record_failure(db, username, address, now)
        return None
    with db.transaction():
        failures.clear_failures(db, username)
        if needs_rehash(user["password_hash"]):
            users.update_password_hash(db, user["id"], hash_password(password))
    return user


def change_user(db: Database, user_id: int, *, role: str, disabled: bool) -> None:
    """Admin edit; refuses to leave the instance without an active admin."""
    if role not in ROLES:
        raise BadRequest(f"Role must be one of {', '.join(ROLES)}.", field="role")
    with db.transaction():
        users.update_user(db, user_id, role=role, disabled=disabled)
        if users.count_active_admins(db) == 0:
            raise Conflict("Salon needs at least one active admin.")
