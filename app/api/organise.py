"""``/api/v1``: tags (read, and admin changes), collections, favourites, bulk counts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app import bulk, collections, tag_admin
from app.api.serialize import image_card, urls
from app.auth.access import admin_required, current_viewer, gallery
from app.db import Row, get_db
from app.errors import BadRequest
from app.media.library import MAX_BULK
from app.queries import collections as collection_queries
from app.search.pagination import Page, parse_cursor, parse_limit

bp = Blueprint("organise_api", __name__, url_prefix="/api/v1")

# URL action -> (service action, body field holding the other value)
TAG_ACTIONS = {"rename": ("rename", "to"), "merge": ("merge", "into"),
               "alias": ("alias", "alias"), "implication": ("imply", "implies"),
               "category": ("category", "category")}
UNDO = {"alias": "unalias", "imply": "unimply"}


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object with Content-Type: application/json.")
    return body


def _page(page: Page) -> dict[str, Any]:
    return {"results": [image_card(row) for row in page.items], "next_cursor": page.next_cursor}


# -- tags ---------------------------------------------------------------------------


@bp.route("/tags/<tag:name>", methods=["GET"])
@gallery
def get_tag(name: str) -> Response:
    tag = tag_admin.overview(get_db(), current_viewer(), name)
    return jsonify({"name": tag["name"], "category": tag["category"], "count": tag["count"],
                    "visible_count": tag["visible_count"], "aliases": tag["aliases"],
                    "implies": tag["implies"], "implied_by": tag["implied_by"],
                    "related": [{"name": row["name"], "category": row["category"],
                                 "count": row["together"]} for row in tag["related"]]})


@bp.route("/tags/<tag:name>/<any(rename, merge, alias, implication, category):action>",
          methods=["POST"])
@admin_required
def change_tag(name: str, action: str) -> Response:
    """Body: rename ``{"to"}``, merge ``{"into"}``, alias ``{"alias", "remove"?}``,
    implication ``{"implies", "remove"?}``, category ``{"category"}``."""
    body = _body()
    service_action, field = TAG_ACTIONS[action]
    if body.get("remove") is True:
        service_action = UNDO.get(service_action, service_action)
    tag_admin.run_action(get_db(), service_action, name, str(body.get(field) or ""))
    survivor = {"rename": body.get("to"), "merge": body.get("into")}.get(action) or name
    return get_tag(str(survivor))


@bp.route("/tags/<tag:name>", methods=["DELETE"])
@admin_required
def delete_tag(name: str) -> Response:
    pictures = tag_admin.delete(get_db(), name)
    return jsonify({"deleted": tag_admin.resolve(get_db(), name), "pictures": pictures})


# -- collections ----------------------------------------------------------------------


def collection_json(row: Row) -> dict[str, Any]:
    cover = row["cover_id"]
    return {"id": row["id"], "title": row["title"], "description": row["description"],
            "visibility": row["visibility"], "owner": row["owner_name"],
            "picture_count": row["picture_count"], "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "cover": None if cover is None else {"id": cover, "urls": urls(cover)},
            "url": url_for("collections.show", collection_id=row["id"])}


@bp.route("/collections", methods=["GET"])
@gallery
def list_collections() -> Response:
    mine = request.args.get("mine") in ("1", "true") and current_user.is_authenticated
    rows = collection_queries.list_collections(get_db(), current_viewer(),
                                               current_user.id if mine else None)
    return jsonify({"collections": [collection_json(row) for row in rows]})


@bp.route("/collections", methods=["POST"])
def create_collection() -> tuple[Response, int]:
    collection_id = collections.create(get_db(), current_user.id, _body())
    return get_collection(collection_id), 201


@bp.route("/collections/<int:collection_id>", methods=["GET"])
@gallery
def get_collection(collection_id: int) -> Response:
    db, viewer = get_db(), current_viewer()
    row = collections.visible(db, collection_id, viewer)
    page = collections.pictures(db, collection_id, viewer, parse_cursor(
        request.args.get("cursor")), parse_limit(request.args.get("limit"), 60))
    return jsonify({**collection_json(row), **_page(page)})


@bp.route("/collections/<int:collection_id>", methods=["PATCH"])
def patch_collection(collection_id: int) -> Response:
    body = _body()
    unknown = set(body) - {"title", "description", "visibility"}
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(sorted(unknown))}.", field=sorted(unknown))
    collections.update(get_db(), collection_id, current_user.id, body)
    return get_collection(collection_id)


@bp.route("/collections/<int:collection_id>", methods=["DELETE"])
def delete_collection(collection_id: int) -> tuple[str, int]:
    collections.delete(get_db(), collection_id, current_user.id)
    return "", 204


@bp.route("/collections/<int:collection_id>/images", methods=["POST"])
def collection_images(collection_id: int) -> Response:
    """``{"add": [ids], "remove": [ids], "order": [ids], "cover": id|null, "others": bool}``."""
    body, db, owner = _body(), get_db(), current_user.id
    result: dict[str, Any] = {}
    if body.get("add"):
        result["added"] = collections.add_pictures(db, collection_id, owner, _list(body, "add"),
                                                   others=body.get("others") is True)
    if body.get("remove"):
        result["removed"] = collections.remove_pictures(db, collection_id, owner,
                                                        _list(body, "remove"))
    if body.get("order"):
        collections.reorder(db, collection_id, owner, _list(body, "order"))
    if "cover" in body:
        collections.set_cover(db, collection_id, owner, _cover(body["cover"]))
    collections.owned(db, collection_id, owner)
    return jsonify({**result, "order": collection_queries.item_ids(db, collection_id)})


def _list(body: dict[str, Any], field: str) -> list[Any]:
    value = body.get(field)
    if not isinstance(value, list):
        raise BadRequest(f"'{field}' must be a list of picture ids.", field=field)
    return value


def _cover(value: Any) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise BadRequest("'cover' must be a picture id or null.", field="cover")
    return value


# -- favourites and selections --------------------------------------------------------


@bp.route("/images/<int:image_id>/favourite", methods=["POST", "DELETE"])
def favourite(image_id: int) -> Response:
    on = collections.set_favourite(get_db(), current_viewer(), image_id,
                                   request.method == "POST")
    return jsonify({"id": image_id, "favourite": on})


@bp.route("/favourites", methods=["GET"])
def favourites() -> Response:
    page = collections.favourites(get_db(), current_viewer(),
                                  parse_cursor(request.args.get("cursor")),
                                  parse_limit(request.args.get("limit"), 60))
    return jsonify(_page(page))


@bp.route("/images/matching", methods=["GET"])
@gallery
def matching() -> Response:
    """How many pictures "select all matching this search" would act on (at most 1000)."""
    mine = request.args.get("mine") in ("1", "true") and current_user.is_authenticated
    ids = bulk.matching_ids(get_db(), current_viewer(), request.args.get("q", ""),
                            current_user.id if mine else None)
    return jsonify({"count": len(ids), "capped": len(ids) >= MAX_BULK, "cap": MAX_BULK})
