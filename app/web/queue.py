"""Admin "Queue" page: counts by kind and state, a filterable job list, and controls.

Everything the page changes goes through ``app.jobs.control`` (the same
services as the JSON API) with Post/Redirect/Get; the page itself follows the
queue live over Socket.IO (``static/js/queue.js``), so it rarely needs a reload.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth.access import admin_required, current_viewer
from app.db import Database, get_db
from app.errors import AppError, BadRequest
from app.jobs import control
from app.jobs.registry import KINDS
from app.queries import jobs, users
from app.search.pagination import parse_cursor
from app.web.forms import safe_next

bp = Blueprint("queue", __name__, url_prefix="/admin/queue")

PAGE_SIZE = 50


def _filters() -> dict[str, str | None]:
    state = request.args.get("state") or None
    if state is not None and state not in jobs.STATES:
        raise BadRequest(f"'state' must be one of {', '.join(jobs.STATES)}.", field="state")
    return {"state": state, "kind": request.args.get("kind") or None}


def overview(db: Database, filters: dict[str, str | None], before: int | None) -> dict[str, Any]:
    """What the page shows: counts and controls per kind, and one page of jobs."""
    counts, controls = jobs.counts(db), jobs.kind_controls(db)
    rows = jobs.list_jobs(db, current_viewer(), state=filters["state"], kind=filters["kind"],
                          before=before, limit=PAGE_SIZE + 1)
    return {
        "kinds": sorted(set(KINDS) | set(counts) | set(controls)),
        "counts": counts, "controls": controls, "states": jobs.STATES,
        "jobs": rows[:PAGE_SIZE],
        "older": rows[PAGE_SIZE - 1]["id"] if len(rows) > PAGE_SIZE else None,
        "usernames": {user["id"]: user["username"] for user in users.list_users(db)},
        "filters": filters,
    }


def _back() -> Response:
    return redirect(safe_next(request.form.get("next"), url_for("queue.index")))


def _act(action: Any, *args: Any, done: str) -> Response:
    """Run a control service, flash the outcome, and go back to the page (PRG)."""
    try:
        action(get_db(), *args)
        flash(done)
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    return _back()


@bp.route("")
@admin_required
def index() -> str:
    filters = _filters()
    context = overview(get_db(), filters, parse_cursor(request.args.get("before")))
    return render_template("admin/queue.html", **context)


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@admin_required
def retry(job_id: int) -> Response:
    return _act(control.retry, job_id, current_viewer(), done=f"Job {job_id} queued again.")


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
@admin_required
def cancel(job_id: int) -> Response:
    return _act(control.cancel, job_id, current_viewer(), done=f"Job {job_id} cancelled.")


@bp.route("/kinds/<kind:kind>", methods=["POST"])
@admin_required
def configure(kind: str) -> Response:
    values = {key: request.form[key] for key in ("concurrency", "paused") if key in request.form}
    return _act(control.configure_kind, kind, values, done=f"Saved the settings of {kind}.")
