"""Tag pages (``/tags/<name>``) and the admin's tag list with its actions."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app import tag_admin
from app.auth.access import admin_required, current_viewer, gallery
from app.db import get_db
from app.errors import AppError
from app.queries import tag_admin as tag_queries
from app.search.pagination import parse_cursor
from app.tagging import CATEGORIES, normalise
from app.web.forms import form_error

bp = Blueprint("tags", __name__)

ACTION_LABELS = {"rename": "Rename to", "merge": "Merge into", "alias": "Add alias",
                 "unalias": "Remove alias", "imply": "Implies", "unimply": "No longer implies",
                 "category": "Category", "delete": "Delete"}


@bp.route("/tags/<tag:name>")
@gallery
def show(name: str) -> Response | str:
    db = get_db()
    canonical = tag_admin.resolve(db, name)
    if canonical != name:
        return redirect(url_for("tags.show", name=canonical))
    tag = tag_admin.overview(db, current_viewer(), name)
    page = tag_admin.tagged(db, current_viewer(), tag["id"],
                            parse_cursor(request.args.get("cursor")),
                            current_app.config["PAGE_SIZE"])
    template = "gallery/_cards.html" if request.args.get("partial") else "tags/show.html"
    return render_template(template, tag=tag, page=page, title=tag["name"], query="",
                           scope="")


def _admin_context() -> dict[str, object]:
    prefix = request.values.get("q", "").strip()
    return {"tags": tag_queries.list_tags(get_db(), normalise(prefix) if prefix else ""),
            "q": prefix, "categories": CATEGORIES, "actions": ACTION_LABELS}


@bp.route("/admin/tags")
@admin_required
def admin_list() -> str:
    return render_template("admin/tags.html", values={}, **_admin_context())


@bp.route("/admin/tags", methods=["POST"])
@admin_required
def admin_action() -> Response | tuple[str, int, dict]:
    form = request.form
    try:
        tag_admin.run_action(get_db(), form.get("action", ""), form.get("name", ""),
                             form.get("value", ""))
    except AppError as error:
        return form_error("admin/tags.html", error, **_admin_context())
    flash(f"{ACTION_LABELS.get(form.get('action', ''), 'Changed')} — {form.get('name')}: done.")
    return redirect(url_for("tags.admin_list", q=form.get("q") or None))
