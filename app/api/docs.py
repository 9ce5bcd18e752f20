"""The OpenAPI document (``/api/openapi.json``) and a readable page (``/api/docs``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
from werkzeug.wrappers import Response

from app.auth.access import public

bp = Blueprint("api_docs", __name__, url_prefix="/api")

IMAGE_ID = {"name": "image_id", "in": "path", "required": True, "schema": {"type": "integer"}}
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}
PAGE = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "cursor", "in": "query", "schema": {"type": "integer"},
     "description": "next_cursor of the previous page"},
]
ERROR = {"description": "Error: {\"error\": message, ...details}"}


def _op(summary: str, params: list[dict[str, Any]] | None = None,
        body: str | None = None, ok: str = "200") -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "parameters": params or [],
                                 "responses": {ok: {"description": "OK"}, "4XX": ERROR}}
    if body:
        operation["requestBody"] = {"content": {body: {"schema": {"type": "object"}}}}
    return operation


PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/images": {
        "post": _op("Upload pictures (multipart field 'file', repeatable; 'visibility', "
                    "'title'). All or nothing.", body="multipart/form-data", ok="201"),
        "get": _op("List visible pictures, newest first ('mine=1' for your own).",
                   [*PAGE, {"name": "mine", "in": "query", "schema": {"type": "boolean"}}]),
    },
    "/api/v1/images/{image_id}": {
        "get": _op("A picture with its metadata", [IMAGE_ID]),
        "patch": _op("Edit title, description, visibility", [IMAGE_ID], "application/json"),
        "delete": _op("Delete (tombstone) a picture", [IMAGE_ID], ok="204"),
    },
    "/api/v1/images/bulk": {
        "post": _op("Bulk action: {ids, action: delete|visibility, visibility}",
                    body="application/json"),
    },
    "/api/v1/search": {
        "get": _op("Search with the query language (see /search/help): tags, -tag, ~a ~b, "
                   "a or b, (...), wild*, \"free text\", rating:, nsfw:, width:, height:, mp:, "
                   "ratio:, date:, age:, user:, fav:, collection:, source:, peer:, has:, "
                   "order:. 400 {error, position} for a bad query; next_cursor may be a "
                   "string; notes explain rewrites.",
                   [{"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}]),
    },
    "/api/v1/images/{image_id}/tags": {
        "post": _op("Owner: {add: [...], remove: [...]} tag names", [IMAGE_ID],
                    "application/json"),
    },
    "/api/v1/tags": {
        "get": _op("Tag autocomplete, most used first",
                   [{"name": "prefix", "in": "query", "schema": {"type": "string"}}]),
    },
    "/api/v1/jobs": {
        "get": _op("Your jobs (admins: all), newest first",
                   [{"name": name, "in": "query", "schema": {"type": "string"}}
                    for name in ("state", "kind", "image_id")] + PAGE),
    },
    "/api/v1/jobs/{job_id}": {"get": _op("One job", [JOB_ID])},
    "/api/v1/jobs/{job_id}/retry": {"post": _op("Retry a failed or cancelled job", [JOB_ID])},
    "/api/v1/jobs/{job_id}/cancel": {"post": _op("Cancel a job", [JOB_ID])},
    "/api/v1/queue": {"get": _op("Admin: counts by kind and state, per-kind controls")},
    "/api/v1/queue/kinds/{kind}": {
        "post": _op("Admin: {concurrency: N or null, paused: bool}",
                    [{"name": "kind", "in": "path", "required": True,
                      "schema": {"type": "string"}}], "application/json"),
    },
    "/api/v1/me": {"get": _op("The authenticated user")},
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Salon API", "version": "1",
                 "license": {"name": "AGPL-3.0-or-later"}},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": PATHS,
    }


@bp.route("/openapi.json")
@public
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.route("/docs")
@public
def docs() -> str:
    return render_template("api/docs.html", document=openapi_document())
