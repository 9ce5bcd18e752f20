"""``/api/v1/jobs``: list, read, retry and cancel jobs; ``/api/v1/queue`` for admins."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from app.auth.access import admin_required, current_viewer
from app.db import get_db
from app.errors import BadRequest, NotFound
from app.jobs import control
from app.queries import jobs
from app.search.pagination import parse_cursor, parse_limit

bp = Blueprint("api_jobs", __name__, url_prefix="/api/v1")


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a whole number.", field=name) from None


@bp.route("/jobs")
def list_jobs() -> Response:
    state = request.args.get("state") or None
    if state is not None and state not in jobs.STATES:
        raise BadRequest(f"'state' must be one of {', '.join(jobs.STATES)}.", field="state")
    limit = parse_limit(request.args.get("limit"), 50)
    rows = jobs.list_jobs(get_db(), current_viewer(), state=state,
                          kind=request.args.get("kind") or None, image_id=_int_arg("image_id"),
                          before=parse_cursor(request.args.get("cursor")), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify({"jobs": [jobs.job_json(row) for row in rows],
                    "next_cursor": rows[-1]["id"] if more and rows else None})


@bp.route("/jobs/<int:job_id>")
def get_job(job_id: int) -> Response:
    row = jobs.get_job(get_db(), job_id, current_viewer())
    if row is None:
        raise NotFound("No such job.")
    return jsonify(jobs.job_json(row))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
def retry(job_id: int) -> Response:
    control.retry(get_db(), job_id, current_viewer())
    return get_job(job_id)


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
def cancel(job_id: int) -> Response:
    control.cancel(get_db(), job_id, current_viewer())
    return get_job(job_id)


@bp.route("/queue")
@admin_required
def queue_state() -> Response:
    db = get_db()
    controls = {kind: {"concurrency": row["concurrency"], "paused": bool(row["paused"])}
                for kind, row in jobs.kind_controls(db).items()}
    return jsonify({"counts": jobs.counts(db), "kinds": controls})


@bp.route("/queue/kinds/<kind:kind>", methods=["POST"])
@admin_required
def configure_kind(kind: str) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object: {\"concurrency\": N or null, \"paused\": bool}.")
    control.configure_kind(get_db(), kind, body)
    return queue_state()
