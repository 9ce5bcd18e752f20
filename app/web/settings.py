"""A user's own settings: API keys, preferences, password."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import accounts
from app.auth.api_keys import create_api_key
from app.auth.passwords import hash_password, verify_password
from app.db import get_db
from app.errors import AppError, BadRequest, NotFound
from app.federation.feed import touch_owner
from app.queries import api_keys, users
from app.web.forms import form_error

bp = Blueprint("settings", __name__, url_prefix="/settings")

PREFERENCES = {"blur_sensitive": True, "default_visibility": "private",
               "federation_share_nsfw": False}


def _render(status: int = 200, **context: object) -> tuple[str, int]:
    keys = api_keys.list_api_keys(get_db(), current_user.id)
    prefs = {**PREFERENCES, **json.loads(current_user.preferences or "{}")}
    return render_template("settings/index.html", keys=keys, prefs=prefs, **context), status


@bp.route("/")
def index() -> tuple[str, int]:
    return _render()


@bp.route("/api-keys", methods=["POST"])
def create_key() -> tuple[str, int]:
    try:
        key = create_api_key(get_db(), current_user.id, request.form.get("name", ""))
    except AppError as error:
        return _render(error.status, error=error.message, values=request.form)
    return _render(201, new_key=key)


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
def revoke_key(key_id: int) -> Response:
    db = get_db()
    with db.transaction():
        if not api_keys.revoke_api_key(db, current_user.id, key_id):
            raise NotFound("No such API key.")
    flash("The key is revoked.")
    return redirect(url_for("settings.index"))


@bp.route("/preferences", methods=["POST"])
def preferences() -> Response:
    visibility = request.form.get("default_visibility", "private")
    if visibility not in ("private", "unlisted", "public"):
        raise BadRequest("Unknown visibility.", field="default_visibility")
    prefs = {"blur_sensitive": bool(request.form.get("blur_sensitive")),
             "default_visibility": visibility,
             "federation_share_nsfw": bool(request.form.get("federation_share_nsfw"))}
    before = json.loads(current_user.preferences or "{}").get("federation_share_nsfw", False)
    db = get_db()
    with db.transaction():
        users.set_preferences(db, current_user.id, prefs)
        if before != prefs["federation_share_nsfw"]:  # followers get them, or tombstones
            touch_owner(db, current_user.id)
    flash("Preferences saved.")
    return redirect(url_for("settings.index"))


@bp.route("/password", methods=["POST"])
def password() -> Response | tuple[str, int, dict]:
    db, form = get_db(), request.form
    row = users.get_user_with_hash(db, current_user.username)
    try:
        if row is None or not verify_password(row["password_hash"], form.get("current", "")):
            raise BadRequest("The current password is wrong.", field="current")
        accounts.validate_credentials(current_user.username, form.get("new", ""))
    except AppError as error:
        return form_error("settings/index.html", error, keys=api_keys.list_api_keys(
            db, current_user.id), prefs={**PREFERENCES, **json.loads(current_user.preferences)})
    with db.transaction():
        users.update_password_hash(db, current_user.id, hash_password(form["new"]))
    flash("Password changed.")
    return redirect(url_for("settings.index"))
