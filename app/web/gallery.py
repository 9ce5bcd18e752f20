"""The gallery: home grid, my pictures, search results, a picture's page, upload."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app import bulk as bulk_actions
from app import tagging
from app.analysis import service as analysis
from app.auth.access import current_viewer, gallery
from app.db import get_db
from app.errors import AppError
from app.media import library
from app.queries import images
from app.queries import tags as tag_queries
from app.search.grid import grid_page
from app.search.pagination import Page, parse_search_cursor
from app.search.parser import QueryError
from app.web.forms import safe_next

bp = Blueprint("gallery", __name__)


def _grid(title: str, owner_id: int | None = None) -> str | tuple[str, int]:
    query = request.args.get("q", "").strip()
    template = "gallery/_cards.html" if request.args.get("partial") else "gallery/index.html"
    scope = "mine" if owner_id else "all"
    try:
        page = grid_page(get_db(), current_viewer(), query=query, owner_id=owner_id,
                         cursor=parse_search_cursor(request.args.get("cursor")),
                         limit=current_app.config["PAGE_SIZE"],
                         timeout_ms=current_app.config["QUERY_TIMEOUT_MS"])
    except QueryError as error:  # shown above the empty grid, with the column
        return render_template(template, page=Page([], None), title=title, query=query,
                               scope=scope, query_error=error), 400
    return render_template(template, page=page, title=title, query=query, scope=scope)


@bp.route("/")
@gallery
def index() -> str | tuple[str, int]:
    return _grid("Gallery")


@bp.route("/mine")
def mine() -> str | tuple[str, int]:
    return _grid("My pictures", owner_id=current_user.id)


@bp.route("/images/<int:image_id>")
@gallery
def show(image_id: int) -> str:
    db, viewer = get_db(), current_viewer()
    image = images.visible_image(db, image_id, viewer)
    scope_owner = current_user.id if request.args.get("scope") == "mine" else None
    newer, older = images.neighbours(db, viewer, image_id, scope_owner)
    metadata = images.get_metadata(db, image_id) or {}
    return render_template(
        "gallery/show.html", image=image, metadata=metadata, newer=newer, older=older,
        **_analysis_context(image_id),
        generation=json.loads(metadata.get("generation_json") or "{}"),
        exif=json.loads(metadata.get("exif_json") or "{}"),
        is_owner=viewer.user_id == image["owner_id"], scope=request.args.get("scope", ""),
    )


def _analysis_context(image_id: int) -> dict[str, object]:
    db = get_db()
    found = analysis.features(db, image_id)
    return {"analysis": analysis.analysis_state(db, image_id),
            "tags": tag_queries.image_tags(db, image_id),
            "colors": json.loads(found["colors"]) if found else [],
            "similar": analysis.similar_images(db, current_viewer(), image_id)}


@bp.route("/images/<int:image_id>/analysis")
@gallery
def analysis_panel(image_id: int) -> str:
    """The analysis panel alone, re-fetched live when the picture's analysis changes."""
    image = images.visible_image(get_db(), image_id, current_viewer())
    return render_template("gallery/_analysis.html", image=image, **_analysis_context(image_id))


@bp.route("/images/<int:image_id>/reanalyze", methods=["POST"])
def reanalyze(image_id: int) -> Response:
    library.owned(get_db(), image_id, current_user.id)
    analysis.enqueue_analysis(get_db(), image_id, current_user.id, force=True)
    flash("Analysis queued.")
    return redirect(url_for("gallery.show", image_id=image_id))


@bp.route("/images/<int:image_id>/tags", methods=["POST"])
def edit_tags(image_id: int) -> Response:
    library.owned(get_db(), image_id, current_user.id)
    add = [name for name in request.form.get("add", "").split(",") if name.strip()]
    try:
        tagging.edit_tags(get_db(), image_id, add, request.form.getlist("remove"))
    except AppError as error:
        flash(error.message, "error")
    return redirect(url_for("gallery.show", image_id=image_id) + "#tags")


@bp.route("/images/<int:image_id>/edit", methods=["POST"])
def edit(image_id: int) -> Response:
    try:
        library.update_details(get_db(), image_id, current_user.id, request.form)
        flash("Saved.")
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    return redirect(url_for("gallery.show", image_id=image_id))


@bp.route("/images/<int:image_id>/delete", methods=["POST"])
def delete(image_id: int) -> Response:
    library.delete(get_db(), image_id, current_user.id)
    flash("Picture deleted.")
    return redirect(url_for("gallery.mine"))


@bp.route("/images/bulk", methods=["POST"])
def bulk() -> Response:
    form = request.form
    action, options = bulk_actions.form_action(form)
    owner_id = current_user.id if form.get("scope") == "mine" else None
    try:
        ids = bulk_actions.selection(get_db(), current_viewer(), form.getlist("ids"),
                                     everything=form.get("all") == "1",
                                     query=form.get("q", ""), owner_id=owner_id)
        count = bulk_actions.perform(get_db(), current_viewer(), action, ids, options)
        flash(bulk_actions.message(action, count, options))
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    return redirect(safe_next(form.get("next"), url_for("gallery.mine")))


@bp.route("/upload")
def upload() -> str:
    return render_template("gallery/upload.html",
                           max_upload_mb=current_app.config["MAX_UPLOAD_MB"])
