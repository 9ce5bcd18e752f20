"""``/api/v1/images``: upload, list, read, edit, delete, tags; tag autocomplete."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from app import bulk as bulk_actions
from app import tagging
from app.analysis.service import analysis_state
from app.api.serialize import image_card, image_detail
from app.auth.access import current_viewer, gallery
from app.db import get_db
from app.errors import AppError, BadRequest
from app.media import library
from app.media.ingest import Ingested, Limits, ingest
from app.queries import images
from app.queries import tags as tag_queries
from app.search.grid import grid_page
from app.search.pagination import parse_cursor, parse_limit

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _limits() -> Limits:
    config = current_app.config
    return Limits(config["MAX_UPLOAD_MB"] * 2**20, config["MAX_PIXELS"])


@bp.route("/images", methods=["POST"])
def upload() -> tuple[Response, int]:
    files = request.files.getlist("file")
    if not files:
        raise BadRequest("Send the picture in the multipart field 'file'.", field="file")
    visibility = request.form.get("visibility", "private")
    results: list[Ingested] = []
    for index, upload in enumerate(files):
        try:
            results.append(ingest(get_db(), current_app.extensions["salon.media"], upload.stream,
                                  upload.filename or "", current_user.id, _limits(),
                                  visibility=visibility, title=request.form.get("title", "")))
        except AppError as error:
            # All or nothing: undo the pictures this request already created.
            library.purge(get_db(), current_app.extensions["salon.media"],
                          [r.image["id"] for r in results if not r.duplicate])
            error.details.update(file_name=upload.filename, index=index)
            raise
    body = [{**image_card(r.image), "duplicate": r.duplicate, "analysis_job_id": r.job_id}
            for r in results]
    status = 201 if any(not r.duplicate for r in results) else 200
    return jsonify({"images": body}), status


@bp.route("/images", methods=["GET"])
@gallery
def list_images() -> Response:
    mine = request.args.get("mine") in ("1", "true")
    if mine and not current_user.is_authenticated:
        raise BadRequest("'mine' needs a logged-in user.", field="mine")
    return _page(query="", owner_id=current_user.id if mine else None)



def _page(query: str, owner_id: int | None) -> Response:
    page = grid_page(get_db(), current_viewer(), query=query, owner_id=owner_id,
                     cursor=parse_cursor(request.args.get("cursor")),
                     limit=parse_limit(request.args.get("limit"), 60),
                     timeout_ms=current_app.config["QUERY_TIMEOUT_MS"])
    return jsonify({"results": [image_card(row) for row in page.items],
                    "next_cursor": page.next_cursor})


@bp.route("/images/<int:image_id>", methods=["GET"])
@gallery
def get_image(image_id: int) -> Response:
    db, viewer = get_db(), current_viewer()
    row = images.visible_image(db, image_id, viewer)
    detail = image_detail(row, images.get_metadata(db, image_id),
                          is_owner=viewer.user_id == row["owner_id"],
                          analysis=analysis_state(db, image_id),
                          tags=tag_queries.image_tags(db, image_id))
    return jsonify(detail)


@bp.route("/images/<int:image_id>", methods=["PATCH"])
def patch_image(image_id: int) -> Response:
    body = _json_body()
    unknown = set(body) - {"title", "description", "visibility"}
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(sorted(unknown))}.", field=sorted(unknown))
    library.update_details(get_db(), image_id, current_user.id, body)
    return get_image(image_id)


@bp.route("/images/<int:image_id>", methods=["DELETE"])
def delete_image(image_id: int) -> tuple[str, int]:
    library.delete(get_db(), image_id, current_user.id)
    return "", 204


@bp.route("/images/<int:image_id>/tags", methods=["POST"])
def edit_tags(image_id: int) -> Response:
    body = _json_body()
    add, remove = body.get("add") or [], body.get("remove") or []
    if not isinstance(add, list) or not isinstance(remove, list):
        raise BadRequest("'add' and 'remove' must be lists of tag names.", field="tags")
    library.owned(get_db(), image_id, current_user.id)
    tagging.edit_tags(get_db(), image_id, add, remove)
    return get_image(image_id)


@bp.route("/tags", methods=["GET"])
@gallery
def autocomplete() -> Response:
    prefix = tagging.normalise(request.args.get("prefix", "")) if request.args.get(
        "prefix", "").strip() else ""
    rows = tag_queries.by_prefix(get_db(), prefix, current_viewer(),
                                 parse_limit(request.args.get("limit"), 20))
    return jsonify({"tags": rows})


@bp.route("/images/bulk", methods=["POST"])
def bulk() -> Response:
    """``{"action", "ids"}`` or ``{"action", "query", "mine", "all": true}``, plus the
    action's own field: ``visibility``, ``collection_id`` or ``tags``."""
    body = _json_body()
    ids = body.get("ids") or []
    if not isinstance(ids, list):
        raise BadRequest("'ids' must be a list of picture ids.", field="ids")
    everything = body.get("all") is True
    selected = bulk_actions.selection(
        get_db(), current_viewer(), ids, everything=everything, query=str(body.get("query") or ""),
        owner_id=current_user.id if body.get("mine") is True else None)
    changed = bulk_actions.perform(get_db(), current_viewer(), str(body.get("action")),
                                   selected, body)
    return jsonify({"changed": changed, "selected": len(selected)} if everything
                   else {"changed": changed})


@bp.route("/me", methods=["GET"])
def me() -> Response:
    return jsonify({"id": current_user.id, "username": current_user.username,
                    "role": current_user.role})


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object with Content-Type: application/json.")
    return body
