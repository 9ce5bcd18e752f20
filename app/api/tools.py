"""``/api/v1/tools`` and ``/api/v1/pipelines``: run image tools and pipelines as jobs.

A run answers 202 ``{"job_id"}`` at once; the job's progress arrives over Socket.IO
(``job.progress``) and ``GET /api/v1/tools/runs/<job_id>`` gives its state, its
result and, for batches, every picture's state and error. Results are downloaded
by their owner only (never a public capability URL, unlike ashim).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file
from flask_login import current_user
from werkzeug.routing import BaseConverter

from app.auth.access import admin_required, current_viewer
from app.db import get_db
from app.errors import BadRequest, Conflict, NotFound
from app.media.storage import MediaStore
from app.queries import tools as queries
from app.tools import pipelines as pipeline_service
from app.tools import service
from app.tools.batch import zip_members, zip_stream
from app.tools.imaging import MIME_BY_EXT
from app.tools.registry import (
    InvalidSettings,
    by_category,
    describe,
    disabled_tools,
    enabled_tool,
    enabled_tools,
    set_disabled_tools,
)
from app.tools.runner import limits_of

bp = Blueprint("api_tools", __name__, url_prefix="/api/v1")


class ToolIdConverter(BaseConverter):
    """A tool id or alias: lower-case words joined by hyphens, e.g. ``adjust-colors``."""

    regex = r"[a-z0-9][a-z0-9-]{0,63}"


def install_converter(state: Any) -> None:
    state.app.url_map.converters.setdefault("tool", ToolIdConverter)


bp.record_once(install_converter)


def _store() -> MediaStore:
    store: MediaStore = current_app.extensions["salon.media"]
    return store


# -- reading requests ---------------------------------------------------------------


def _json_settings(raw: Any) -> Any:
    if raw is None or isinstance(raw, dict):
        return raw
    if raw == "":
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as error:
        raise InvalidSettings("invalid settings", fields=[
            {"field": "settings", "message": f"settings must be valid JSON: {error}"}]) from None


def _ids(values: list[Any], name: str) -> list[int]:
    ids: list[int] = []
    for value in values:
        for part in str(value).split(","):
            if part.strip():
                try:
                    ids.append(int(part))
                except ValueError:
                    raise BadRequest(f"'{name}' must be picture ids (whole numbers).",
                                     field=name) from None
    return ids


def tool_request(tool_id: str) -> service.ToolRequest:
    """A ``ToolRequest`` from multipart (``file``, extras, ``image_id``, ``settings``,
    ``save``) or from a JSON body (``image_id``/``image_ids``, ``settings``, ``save``)."""
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        raw_ids = [body["image_id"]] if "image_id" in body else list(body.get("image_ids") or [])
        return service.ToolRequest(tool_id, _json_settings(body.get("settings")),
                                   image_ids=_ids(raw_ids, "image_ids"), save=body.get("save"))
    form = request.form
    files = [service.Upload(f.filename or "", f.stream) for f in request.files.getlist("file")]
    extra = {name: service.Upload(upload.filename or name, upload.stream)
             for name, upload in request.files.items() if name != "file"}
    raw_ids = form.getlist("image_id") + form.getlist("image_ids")
    return service.ToolRequest(tool_id, _json_settings(form.get("settings")), files=files,
                               image_ids=_ids(raw_ids, "image_ids"), extra=extra,
                               save=form.get("save"))


# -- tools --------------------------------------------------------------------------


@bp.route("/tools")
def list_tools() -> Response:
    tools = enabled_tools(get_db())
    full = request.args.get("settings", "1") not in ("0", "false")
    return jsonify({"tools": [describe(tool, full=full) for tool in tools],
                    "categories": [{"id": cid, "title": title, "tools": [t.id for t in group]}
                                   for cid, title, group in by_category(tools)]})


@bp.route("/tools/disabled")
@admin_required
def get_disabled() -> Response:
    return jsonify({"disabled_tools": sorted(disabled_tools(get_db()))})


@bp.route("/tools/disabled", methods=["PUT"])
@admin_required
def put_disabled() -> Response:
    body = request.get_json(silent=True)
    chosen = body.get("disabled_tools") if isinstance(body, dict) else None
    if not isinstance(chosen, list) or not all(isinstance(item, str) for item in chosen):
        raise BadRequest('Send {"disabled_tools": [tool ids]}.', field="disabled_tools")
    db = get_db()
    with db.transaction():
        return jsonify({"disabled_tools": set_disabled_tools(db, chosen)})


@bp.route("/tools/<tool:tool_id>")
def get_tool(tool_id: str) -> Response:
    return jsonify(describe(enabled_tool(get_db(), tool_id)))


@bp.route("/tools/<tool:tool_id>", methods=["POST"])
def run_tool(tool_id: str) -> tuple[Response, int]:
    job_id = service.start_tool_run(get_db(), _store(), limits_of(current_app.config),
                                    current_viewer(), tool_request(tool_id))
    return jsonify({"job_id": job_id, "status_url": f"/api/v1/tools/runs/{job_id}"}), 202


@bp.route("/tools/<tool:tool_id>/preview", methods=["POST"])
def preview(tool_id: str) -> Response:
    data, mime = service.preview(get_db(), _store(), limits_of(current_app.config),
                                 current_viewer(), tool_request(tool_id))
    response = Response(data, mimetype=mime)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- runs and their files -------------------------------------------------------------


def _own_run(job_id: int) -> dict[str, Any]:
    run = queries.run_of_job(get_db(), job_id, current_user.id)
    if run is None:
        raise NotFound("No such tool run.")
    return run


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    data = {"job_id": run["job_id"], "kind": run["kind"], "tool_id": run["tool_id"],
            "pipeline_id": run["pipeline_id"], "save": run["save"], "state": run["state"],
            "progress": run["progress"], "message": run["message"], "error": run["error"],
            "result": json.loads(run["result"]) if run["result"] else None,
            "expired": bool(run["expired"])}
    if run["kind"] == "pipeline":
        stopped = run["state"] in ("cancelled", "failed")
        items = []
        for row in queries.items(get_db(), run["id"]):
            item = {key: row[key] for key in ("position", "image_id", "state", "error",
                                              "output_name", "output_image_id")}
            if stopped and item["state"] in ("queued", "running"):
                item["state"] = "cancelled"  # the run ended before this picture's turn
            items.append(item)
        data["items"] = items
        counts = {state: sum(1 for item in items if item["state"] == state)
                  for state in ("queued", "running", "succeeded", "failed", "cancelled")}
        data["counts"] = counts
        if run["state"] in ("succeeded", "failed", "cancelled"):
            # The last progress message ("3 of 10 pictures") is stale once the run ended.
            data["message"] = ", ".join(f"{count} {state}" for state, count in counts.items()
                                        if count)
    return data


@bp.route("/tools/runs/<int:job_id>")
def run_status(job_id: int) -> Response:
    return jsonify(run_json(_own_run(job_id)))


def _output_names(run: dict[str, Any]) -> list[str]:
    if run["kind"] == "pipeline":
        return [row["output_name"] for row in queries.items(get_db(), run["id"])
                if row["output_name"]]
    result = json.loads(run["result"]) if run["result"] else {}
    return [entry["name"] for entry in result.get("outputs", [])]


def _finished_outputs(job_id: int) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    run = _own_run(job_id)
    if run["expired"]:
        raise NotFound("These results have expired.")
    if run["state"] not in ("succeeded", "failed", "cancelled"):
        raise Conflict("The run has not finished yet.", state=run["state"])
    folder = service.run_folder(_store(), run["id"])
    return run, zip_members(folder, _output_names(run))


@bp.route("/tools/runs/<int:job_id>/files/<filename>")
def download(job_id: int, filename: str) -> Response:
    _, members = _finished_outputs(job_id)
    path = dict(members).get(filename)
    if path is None:
        raise NotFound("No such result file.")
    ext = filename.rsplit(".", 1)[-1].lower()
    response = send_file(path, mimetype=MIME_BY_EXT.get(ext, "application/octet-stream"),
                         as_attachment=True, download_name=filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/tools/runs/<int:job_id>/zip")
def download_zip(job_id: int) -> Response:
    _, members = _finished_outputs(job_id)
    if not members:
        raise NotFound("This run has no result files.")
    response = Response(zip_stream(members), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="salon-run-{job_id}.zip"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- pipelines ------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object.")
    return body


@bp.route("/pipelines")
def list_pipelines() -> Response:
    rows = queries.list_pipelines(get_db(), current_user.id)
    return jsonify({"pipelines": [queries.pipeline_json(row) for row in rows]})


@bp.route("/pipelines", methods=["POST"])
def create_pipeline() -> tuple[Response, int]:
    row = pipeline_service.save_pipeline(get_db(), current_user.id, _body())
    return jsonify(queries.pipeline_json(row)), 201


@bp.route("/pipelines/<int:pipeline_id>")
def get_pipeline(pipeline_id: int) -> Response:
    row = pipeline_service.owned_pipeline(get_db(), pipeline_id, current_user.id)
    return jsonify(queries.pipeline_json(row))


@bp.route("/pipelines/<int:pipeline_id>", methods=["PUT"])
def update_pipeline(pipeline_id: int) -> Response:
    row = pipeline_service.save_pipeline(get_db(), current_user.id, _body(), pipeline_id)
    return jsonify(queries.pipeline_json(row))


@bp.route("/pipelines/<int:pipeline_id>", methods=["DELETE"])
def delete_pipeline(pipeline_id: int) -> tuple[str, int]:
    if not queries.delete_pipeline(get_db(), pipeline_id, current_user.id):
        raise NotFound("No such pipeline.")
    return "", 204


def selection_from(body: dict[str, Any]) -> pipeline_service.Selection:
    if body.get("query") is not None:
        if not isinstance(body["query"], str):
            raise BadRequest("'query' must be a search text.", field="query")
        return pipeline_service.Selection(query=body["query"])
    raw = body.get("image_ids")
    if not isinstance(raw, list):
        raise BadRequest("Send {\"image_ids\": [...]} or {\"query\": \"...\"}.",
                         field="image_ids")
    return pipeline_service.Selection(image_ids=tuple(_ids(raw, "image_ids")))


@bp.route("/pipelines/<int:pipeline_id>/run", methods=["POST"])
def run_pipeline(pipeline_id: int) -> tuple[Response, int]:
    body = _body()
    db = get_db()
    row = pipeline_service.owned_pipeline(db, pipeline_id, current_user.id)
    job_id = pipeline_service.start_pipeline_run(
        db, _store(), current_viewer(), row, selection_from(body),
        str(body.get("mode") or "version"), current_app.config)
    return jsonify({"job_id": job_id, "status_url": f"/api/v1/tools/runs/{job_id}"}), 202
