"""Access levels for endpoints, decided before any view runs.

Login is required by default: an endpoint opts out with ``@public`` (login,
setup, static files) or ``@gallery`` (readable anonymously only while the
admin has made the gallery public). ``@admin_required`` narrows further.
The architecture test walks the URL map and checks every endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, redirect, request, url_for
from flask_login import current_user

from app.errors import Forbidden, Unauthorized
from app.queries import users
from app.queries.settings import get_setting
from app.queries.visibility import Viewer

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
GALLERY = "gallery"


def public(view: F) -> F:
    view._salon_access = PUBLIC  # type: ignore[attr-defined]
    return view


def gallery(view: F) -> F:
    view._salon_access = GALLERY  # type: ignore[attr-defined]
    return view


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or current_user.role != "admin":
            raise Forbidden("This page is for admins.")
        return view(*args, **kwargs)

    wrapper._salon_admin = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def access_level(endpoint: str | None) -> str:
    view = current_app.view_functions.get(endpoint or "")
    if endpoint == "static":
        return PUBLIC
    return getattr(view, "_salon_access", "login")


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/federation/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def current_viewer() -> Viewer:
    viewer = g.get("viewer")
    if viewer is None:
        db = current_app.extensions["salon.db"]
        if current_user.is_authenticated:
            viewer = Viewer(current_user.id, current_user.role == "admin")
        else:
            viewer = Viewer(None, public_gallery=bool(get_setting(db, "public_gallery")))
        g.viewer = viewer
    return viewer


def enforce_access() -> Any:
    """``before_request``: send to setup, login, or refuse, before the view runs."""
    level = access_level(request.endpoint)
    if level == PUBLIC or current_user.is_authenticated:
        return None
    if not _setup_done():
        return redirect(url_for("auth.setup"))
    if level == GALLERY and current_viewer().public_gallery:
        return None
    if wants_json():
        raise Unauthorized("Log in or send 'Authorization: Bearer <api key>'.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _setup_done() -> bool:
    state = current_app.extensions.setdefault("salon.setup_done", [False])
    if not state[0]:
        state[0] = users.count_users(current_app.extensions["salon.db"]) > 0
    return bool(state[0])

