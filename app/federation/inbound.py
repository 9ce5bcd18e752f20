"""Verifying signed requests inside Flask routes (``/federation/v1/*``).

``@target-uri`` is rebuilt from the configured base URL and the request's
path, never from the ``Host`` header a sender chose. Accepted signatures go
into ``federation_replay`` for the freshness window, so a captured request
cannot be sent again; older rows are pruned as new ones arrive.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, request

from app.db import Database, get_db
from app.errors import Unauthorized
from app.federation.signatures import (
    MAX_AGE,
    ResolveKey,
    Seen,
    SignatureError,
    Verified,
    verify_request,
)

log = logging.getLogger(__name__)


class SignatureRejected(Unauthorized):
    """401 ``{"error": "signature rejected", "reason": ...}``."""

    def __init__(self, reason: str) -> None:
        super().__init__("signature rejected", reason=reason)
        self.reason = reason


def replay_guard(db: Database, now: float, max_age: int = MAX_AGE) -> Seen:
    """A ``seen(digest, created)`` that records each signature once in the database."""
    def seen(digest: str, created: float) -> bool:
        with db.transaction():
            db.execute("DELETE FROM federation_replay WHERE seen_at < ?", (now - max_age,))
            db.execute("INSERT INTO federation_replay (digest, seen_at) VALUES (?, ?)"
                       " ON CONFLICT (digest) DO NOTHING", (digest, created))
            return db.changes() == 0

    return seen


def request_target() -> str:
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def verify_flask_request(resolve_key: ResolveKey) -> Verified:
    """Verify the current request's signature or raise ``SignatureRejected`` (401)."""
    now = time.time()
    body = request.get_data(cache=True) or None
    try:
        return verify_request(request.method, request_target(), request.headers, body,
                              resolve_key=resolve_key, seen=replay_guard(get_db(), now),
                              now=now)
    except SignatureError as error:
        log.warning("refused signed request %s %s from %s: %s", request.method, request.path,
                    request.remote_addr, error.reason)
        raise SignatureRejected(error.reason) from None
