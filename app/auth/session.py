"""Flask-Login wiring: session users, ``Authorization: Bearer`` keys, CSRF.

CSRF protection applies to every state-changing request that is
authenticated by the session cookie; a request carrying an API key is not
cookie-borne, so it cannot be forged cross-site and skips the check.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect

from app.auth.api_keys import resolve_api_key
from app.config import secret_key
from app.db import Database, Row
from app.errors import Unauthorized
from app.queries import users

login_manager = LoginManager()
csrf = CSRFProtect()


class User(UserMixin):
    def __init__(self, row: Row) -> None:
        self.id = row["id"]
        self.username = row["username"]
        self.role = row["role"]
        self.disabled = bool(row["disabled"])
        self.preferences = row.get("preferences") or "{}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:
        return not self.disabled


def _db() -> Database:
    return current_app.extensions["salon.db"]


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    row = users.get_user(_db(), int(user_id))
    return User(row) if row and not row["disabled"] else None


def authenticate_api_key() -> None:
    """``before_request``: a Bearer key, when sent, decides who the caller is.

    It takes precedence over any session cookie on the same request, and a
    wrong key is refused outright rather than falling back to the session.
    """
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return
    key_row = resolve_api_key(_db(), header.removeprefix("Bearer ").strip())
    row = users.get_user(_db(), key_row["user_id"]) if key_row else None
    if key_row is None or row is None:
        raise Unauthorized("The API key is unknown or revoked.")
    g.api_key_id = key_row["id"]
    g._login_user = User(row)  # Flask-Login's per-request user; the session is left alone


def check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return
    if request.blueprint == "federation":  # no cookies: each request is signed (RFC 9421)
        return
    csrf.protect()


def init_app(app: Flask) -> None:
    app.config["SECRET_KEY"] = secret_key(app.config)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.init_app(app)
    csrf.init_app(app)
