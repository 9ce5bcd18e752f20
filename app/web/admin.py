"""Admin pages: accounts and instance settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth import accounts
from app.auth.access import admin_required
from app.db import get_db
from app.errors import AppError
from app.queries import users
from app.queries.settings import all_settings, set_setting
from app.web.forms import form_error

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@admin_required
def user_list() -> str:
    return render_template("admin/users.html", users=users.list_users(get_db()), values={})


@bp.route("/users", methods=["POST"])
@admin_required
def create_user() -> Response | tuple[str, int, dict]:
    db, form = get_db(), request.form
    try:
        accounts.create_user(db, form.get("username", ""), form.get("password", ""),
                             form.get("role", "user"))
    except AppError as error:
        return form_error("admin/users.html", error, users=users.list_users(db))
    flash(f"Created {form.get('username')}.")
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<int:user_id>", methods=["POST"])
@admin_required
def update_user(user_id: int) -> Response:
    try:
        accounts.change_user(get_db(), user_id, role=request.form.get("role", "user"),
                             disabled=bool(request.form.get("disabled")))
        flash("Saved.")
    except AppError as error:
        flash(error.message, "error")
    return redirect(url_for("admin.user_list"))


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def instance_settings() -> Response | str:
    db = get_db()
    if request.method == "POST":
        with db.transaction():
            set_setting(db, "public_gallery", bool(request.form.get("public_gallery")))
            set_setting(db, "open_registration", bool(request.form.get("open_registration")))
        flash("Settings saved.")
        return redirect(url_for("admin.instance_settings"))
    return render_template("admin/settings.html", settings=all_settings(db))
