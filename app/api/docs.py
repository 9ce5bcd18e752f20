"""The OpenAPI document (``/api/openapi.json``) and a readable page (``/api/docs``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
from werkzeug.wrappers import Response

from app.auth.access import public
from app.federation.peers import ACTIONS

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


def _tool_paths() -> dict[str, dict[str, Any]]:
    """The image tools and pipelines (``app/api/tools.py``)."""
    tool = {"name": "tool_id", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "a tool id from GET /api/v1/tools (ashim's ids)"}
    pipeline = {"name": "pipeline_id", "in": "path", "required": True,
                "schema": {"type": "integer"}}
    name = {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/api/v1/tools": {"get": _op("Enabled image tools by category, each with its settings' "
                                     "JSON schema ('settings=0' leaves the schemas out)")},
        "/api/v1/tools/disabled": {
            "get": _op("Admin: the tools turned off on this instance {disabled_tools: [...]}"),
            "put": _op("Admin: replace the list {disabled_tools: [tool ids]}; unknown ids are "
                       "a 400 and change nothing", body="application/json")},
        "/api/v1/tools/{tool_id}": {
            "get": _op("One tool with its settings' JSON schema (403 if disabled)", [tool]),
            "post": _op("Run a tool as a job: multipart 'file' (repeatable) plus the tool's "
                        "named extra files, or 'image_id'/'image_ids'; 'settings' as a JSON "
                        "string; 'save' = version (new picture linked to its source) or "
                        "download. 202 {job_id}; 400 {error: 'invalid settings', fields: "
                        "[{field, message}]}", [tool], "multipart/form-data", ok="202"),
        },
        "/api/v1/tools/{tool_id}/preview": {
            "post": _op("Cheap tools: run synchronously on a copy at most 480 pixels across; "
                        "answers the picture", [tool], "multipart/form-data")},
        "/api/v1/tools/runs/{job_id}": {
            "get": _op("Your run: state, progress, result {outputs: [{name, mime, size, "
                       "image_id?, download_url}], data}; batches add items with errors",
                       [JOB_ID])},
        "/api/v1/tools/runs/{job_id}/files/{filename}": {
            "get": _op("Download one result file (owner only; attachment)", [JOB_ID, name])},
        "/api/v1/tools/runs/{job_id}/zip": {
            "get": _op("All result files of a finished run as a ZIP, streamed", [JOB_ID])},
        "/api/v1/pipelines": {
            "get": _op("Your saved pipelines"),
            "post": _op("Save a pipeline {name, description, steps: [{tool, settings}]}",
                        body="application/json", ok="201")},
        "/api/v1/pipelines/{pipeline_id}": {
            "get": _op("One pipeline", [pipeline]),
            "put": _op("Replace a pipeline's name, description and steps", [pipeline],
                       "application/json"),
            "delete": _op("Delete a pipeline", [pipeline], ok="204")},
        "/api/v1/pipelines/{pipeline_id}/run": {
            "post": _op("Run on {image_ids: [...]} or {query: '...'} (as you see it, at most "
                        "500 pictures); mode = version (new versions of your pictures) or zip "
                        "(download all as one streamed ZIP). 202 {job_id}", [pipeline],
                        "application/json", ok="202")},
    }


def _peer_paths() -> dict[str, dict[str, Any]]:
    """Admin: the peers this instance follows or is followed by (``app/api/peers.py``)."""
    peer = {"name": "peer_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    action = {"name": "peer_action", "in": "path", "required": True,
              "schema": {"type": "string", "enum": list(ACTIONS)}}
    return {
        "/api/v1/peers": {
            "get": _op("Admin: every peer with both directions' states, auto_approve, own_url"),
            "post": _op("Admin: follow an instance {url}: fetch its instance document and "
                        "send a signed follow request; 201 the peer", body="application/json",
                        ok="201")},
        "/api/v1/peers/{peer_id}": {
            "get": _op("Admin: one peer with its pictures here and its sync log, newest "
                       "first", [peer])},
        "/api/v1/peers/{peer_id}/{peer_action}": {
            "post": _op("Admin: approve or deny a follower, block, unblock, unfollow: "
                        "{message, peer}; sync queues a job: 202 {message, peer, job_id}",
                        [peer, action])},
        "/api/v1/peers/settings": {
            "put": _op("Admin: {auto_approve: bool}, approve every follow request at once",
                       body="application/json")},
    }


TOOL_PATHS = _tool_paths()
PEER_PATHS = _peer_paths()

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
    **TOOL_PATHS,
    **PEER_PATHS,
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
