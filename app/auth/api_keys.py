"""API keys: shown once, stored as SHA-256 hashes, revocable.

A key is 32 random bytes, so a fast hash is enough (nothing to brute-force);
the short prefix lets people tell their keys apart in the settings page.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from app.db import Database, Row
from app.errors import BadRequest
from app.queries import api_keys

KEY_PREFIX = "salon_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(db: Database, user_id: int, name: str) -> str:
    """Make a key for ``user_id`` and return it; this is the only time it is seen."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 64:
        raise BadRequest("Give the key a name of 1–64 characters.", field="name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.transaction():
        api_keys.insert_api_key(db, user_id, name, key[: len(KEY_PREFIX) + 6], hash_key(key))
    return key


def resolve_api_key(db: Database, key: str) -> Row | None:
    """The live key row for a presented key (its user must be active), or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = api_keys.find_live_key(db, hash_key(key))
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    if row is not None and (row["last_used_at"] or "") < stale:
        with db.transaction():
            api_keys.touch_api_key(db, row["id"])
    return row
