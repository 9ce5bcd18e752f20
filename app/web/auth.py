"""Setup, login, logout and (when the admin allows it) registration pages."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from app.auth import accounts
from app.auth.access import public
from app.auth.session import User
from app.db import get_db
from app.errors import AppError, Forbidden, Unauthorized
from app.queries import users
from app.queries.settings import get_setting
from app.web.forms import form_error, safe_next

bp = Blueprint("auth", __name__)


def _user(user_id: int) -> User:
    row = users.get_user(get_db(), user_id)
    assert row is not None  # just created in this request
    return User(row)


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup() -> Response | str | tuple[str, int, dict]:
    db = get_db()
    if users.count_users(db):
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("auth/setup.html", values={})
    form = request.form
    try:
        if form.get("password") != form.get("password_confirm"):
            raise AppError("The two passwords differ.", field="password_confirm")
        user_id = accounts.create_first_admin(db, form.get("username", ""),
                                              form.get("password", ""))
    except AppError as error:
        return form_error("auth/setup.html", error)
    login_user(_user(user_id))
    flash("Welcome to Salon. You are its admin.")
    return redirect(url_for("gallery.index"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str | tuple[str, int, dict]:
    if request.method == "GET":
        return render_template("auth/login.html", values={})
    config = current_app.config
    limit = accounts.RateLimit(config["LOGIN_ATTEMPTS"], config["LOGIN_WINDOW_SECONDS"])
    try:
        row = accounts.authenticate(get_db(), request.form.get("username", ""),
                                    request.form.get("password", ""),
                                    request.remote_addr or "?", limit)
        if row is None:
            raise Unauthorized("Wrong username or password.")
    except AppError as error:
        return form_error("auth/login.html", error)
    login_user(User(row), remember=bool(request.form.get("remember")))
    return redirect(safe_next(request.args.get("next"), url_for("gallery.index")))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@public
def register() -> Response | str | tuple[str, int, dict]:
    db = get_db()
    if not get_setting(db, "open_registration"):
        raise Forbidden("Registration is closed on this instance; ask an admin for an account.")
    if request.method == "GET":
        return render_template("auth/register.html", values={})
    try:
        user_id = accounts.create_user(db, request.form.get("username", ""),
                                       request.form.get("password", ""))
    except AppError as error:
        return form_error("auth/register.html", error)
    login_user(_user(user_id))
    return redirect(url_for("gallery.index"))
