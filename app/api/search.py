"""``GET /api/v1/search``: the search language over the JSON API.

Same language, visibility and pagination as the search box (all through
``app.search.engine.run_search``). A query the parser refuses is a 400
``{"error": message, "position": column}`` so clients can point at it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from app.api.serialize import image_card
from app.auth.access import current_viewer, gallery
from app.db import get_db
from app.search.engine import run_search
from app.search.pagination import parse_limit, parse_search_cursor

bp = Blueprint("api_search", __name__, url_prefix="/api/v1")


@bp.route("/search", methods=["GET"])
@gallery
def search() -> Response:
    page = run_search(get_db(), current_viewer(), request.args.get("q", ""),
                      cursor=parse_search_cursor(request.args.get("cursor")),
                      limit=parse_limit(request.args.get("limit"), 60),
                      timeout_ms=current_app.config["QUERY_TIMEOUT_MS"])
    return jsonify({"results": [image_card(row) for row in page.items],
                    "next_cursor": page.next_cursor, "notes": list(page.notes)})
