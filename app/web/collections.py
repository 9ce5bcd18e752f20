"""Collections (albums) and favourites pages, and the picture page's organise panel."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app import collections
from app.auth.access import current_viewer, gallery
from app.db import Row, get_db
from app.errors import AppError
from app.queries import collections as collection_queries
from app.search.pagination import parse_cursor
from app.web.forms import form_error, safe_next

bp = Blueprint("collections", __name__)


@bp.app_template_global()
def my_collections() -> list[Row]:
    """The logged-in user's collections, for "add to collection" choosers."""
    if not current_user.is_authenticated:
        return []
    return collection_queries.list_collections(get_db(), current_viewer(), current_user.id)


@bp.app_template_global()
def organise_state(image_id: int) -> dict[str, Any]:
    """What the picture page's organise panel shows: favourite or not, and collections."""
    if not current_user.is_authenticated:
        return {"favourite": False, "collections": []}
    db = get_db()
    return {"favourite": collections.is_favourite(db, current_viewer(), image_id),
            "collections": collections.for_picture(db, current_user.id, image_id)}


def _index_context() -> dict[str, Any]:
    everyone = collection_queries.list_collections(get_db(), current_viewer())
    return {"mine": [row for row in everyone if row["owner_id"] == current_user.id],
            "others": [row for row in everyone if row["owner_id"] != current_user.id]}


@bp.route("/collections")
def index() -> str:
    return render_template("collections/index.html", values={}, **_index_context())


@bp.route("/collections", methods=["POST"])
def create() -> Response | tuple[str, int, dict]:
    try:
        collection_id = collections.create(get_db(), current_user.id, request.form)
    except AppError as error:
        return form_error("collections/index.html", error, **_index_context())
    flash("Collection created.")
    return redirect(url_for("collections.show", collection_id=collection_id))


def _show_context(collection_id: int) -> dict[str, Any]:
    db, viewer = get_db(), current_viewer()
    collection = collections.visible(db, collection_id, viewer)
    page = collections.pictures(db, collection_id, viewer, parse_cursor(
        request.args.get("cursor")), current_app.config["PAGE_SIZE"])
    return {"collection": collection, "page": page, "query": "", "scope": "",
            "is_owner": collection["owner_id"] == viewer.user_id,
            "title": collection["title"]}


@bp.route("/collections/<int:collection_id>")
@gallery
def show(collection_id: int) -> str:
    context = _show_context(collection_id)
    if request.args.get("partial"):
        return render_template("collections/_items.html", **context)
    return render_template("collections/show.html", values=context["collection"], **context)


@bp.route("/collections/<int:collection_id>", methods=["POST"])
def edit(collection_id: int) -> Response | tuple[str, int, dict]:
    try:
        collections.update(get_db(), collection_id, current_user.id, request.form)
    except AppError as error:
        if error.status == 404:
            raise
        return form_error("collections/show.html", error, **_show_context(collection_id))
    flash("Saved.")
    return redirect(url_for("collections.show", collection_id=collection_id))


@bp.route("/collections/<int:collection_id>/delete", methods=["POST"])
def delete(collection_id: int) -> Response:
    collections.delete(get_db(), collection_id, current_user.id)
    flash("Collection deleted; its pictures are untouched.")
    return redirect(url_for("collections.index"))


@bp.route("/collections/<int:collection_id>/items", methods=["POST"])
def items(collection_id: int) -> Response:
    """Add, remove, move or make cover: one form per button, back to where it came from."""
    form = request.form
    try:
        flash(_change_items(collection_id, form.get("action", ""), form.getlist("ids"),
                            others=form.get("others") == "1"))
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    back = url_for("collections.show", collection_id=collection_id)
    return redirect(safe_next(form.get("next"), back))


@bp.route("/collections/add", methods=["POST"])
def add_to() -> Response:
    """From a picture's page: add it (yours, or another's you may see) to a collection."""
    form = request.form
    collection_id = form.get("collection_id", "")
    if not collection_id.isdigit():
        flash("Choose a collection.", "error")
    else:
        added = collections.add_pictures(get_db(), int(collection_id), current_user.id,
                                         form.getlist("ids"), others=True)
        flash("Added to the collection." if added else "Already there, or not yours to add.")
    return redirect(safe_next(form.get("next"), url_for("collections.index")))


def _change_items(collection_id: int, action: str, ids: list[str], others: bool) -> str:
    db, owner = get_db(), current_user.id
    if action == "add":
        added = collections.add_pictures(db, collection_id, owner, ids, others=others)
        return f"Added {added} picture(s)." if added else "Nothing added."
    if action == "remove":
        return f"Removed {collections.remove_pictures(db, collection_id, owner, ids)} picture(s)."
    first = int(ids[0]) if ids and ids[0].isdigit() else 0
    if action in ("up", "down"):
        collections.move(db, collection_id, owner, first, -1 if action == "up" else 1)
        return "Moved."
    if action == "cover":
        collections.set_cover(db, collection_id, owner, first or None)
        return "Cover set." if first else "Cover cleared."
    raise AppError("Unknown action.", field="action")


@bp.route("/favourites")
def favourites() -> str:
    page = collections.favourites(get_db(), current_viewer(),
                                  parse_cursor(request.args.get("cursor")),
                                  current_app.config["PAGE_SIZE"])
    partial = request.args.get("partial")
    template = "gallery/_cards.html" if partial else "collections/favourites.html"
    return render_template(template, page=page, query="", scope="", title="My favourites")


@bp.route("/images/<int:image_id>/favourite", methods=["POST"])
def favourite(image_id: int) -> Response:
    on = collections.set_favourite(get_db(), current_viewer(), image_id,
                                   request.form.get("on") == "1")
    flash("Added to your favourites." if on else "Removed from your favourites.")
    back = url_for("gallery.show", image_id=image_id)
    return redirect(safe_next(request.form.get("next"), back))
