"""Tool pages: the index by category, one page per tool (a form generated from its
settings model), pipelines, a run's live progress, and the admin's tool switches.

Running goes through the JSON API (``app/api/tools.py``) from the page's script;
these views only render, and refuse disabled tools like the API does.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app import bulk as bulk_actions
from app.api.tools import install_converter, run_json
from app.auth.access import admin_required, current_viewer
from app.db import get_db
from app.errors import AppError, NotFound
from app.queries import images
from app.queries import tools as queries
from app.tools import pipelines as pipeline_service
from app.tools.base import all_tools
from app.tools.forms import form_fields
from app.tools.registry import (
    by_category,
    disabled_tools,
    enabled_tool,
    enabled_tools,
    set_disabled_tools,
)
from app.web.forms import safe_next

bp = Blueprint("tools", __name__)
bp.record_once(install_converter)


@bp.route("/tools")
def index() -> str:
    return render_template("tools/index.html", groups=by_category(enabled_tools(get_db())))


@bp.route("/tools/<tool:tool_id>")
def show(tool_id: str) -> str | Response:
    db = get_db()
    tool = enabled_tool(db, tool_id)
    if tool.id != tool_id:  # an alias: one page per tool
        return redirect(url_for("tools.show", tool_id=tool.id, image=request.args.get("image")))
    image = _start_picture(request.args.get("image"))
    return render_template("tools/show.html", tool=tool, fields=form_fields(tool), image=image,
                           is_owner=bool(image and image["owner_id"] == current_user.id),
                           max_upload_mb=current_app.config["MAX_UPLOAD_MB"])


def _start_picture(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        image_id = int(raw)
    except ValueError:
        raise NotFound("No such picture.") from None
    return images.visible_image(get_db(), image_id, current_viewer())


# -- pipelines ------------------------------------------------------------------------


@bp.route("/tools/pipelines")
def pipelines() -> str:
    db = get_db()
    rows = [queries.pipeline_json(row) for row in queries.list_pipelines(db, current_user.id)]
    editing = None
    if request.args.get("edit"):
        editing = next((p for p in rows if str(p["id"]) == request.args["edit"]), None)
    steps = [tool for tool in enabled_tools(db) if tool.pipeline]
    return render_template("tools/pipelines.html", pipelines=rows, editing=editing,
                           step_tools=steps, form={})


@bp.route("/tools/pipelines", methods=["POST"])
def save_pipeline() -> Response | tuple[str, int]:
    form = request.form
    pipeline_id = int(form["id"]) if form.get("id", "").isdigit() else None
    try:
        steps = json.loads(form.get("steps") or "[]")
        body = {"name": form.get("name"), "description": form.get("description"),
                "steps": steps}
        pipeline_service.save_pipeline(get_db(), current_user.id, body, pipeline_id)
    except ValueError:
        return _pipeline_form_error("The steps must be valid JSON.")
    except AppError as error:
        if error.status == 404:
            raise
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in error.details.get("fields", []))
        return _pipeline_form_error(f"{error.message}{' — ' + detail if detail else ''}")
    flash("Pipeline saved.")
    return redirect(url_for("tools.pipelines"))


def _pipeline_form_error(message: str) -> tuple[str, int]:
    db = get_db()
    rows = [queries.pipeline_json(row) for row in queries.list_pipelines(db, current_user.id)]
    steps = [tool for tool in enabled_tools(db) if tool.pipeline]
    return render_template("tools/pipelines.html", pipelines=rows, editing=None,
                           step_tools=steps, form=request.form, error=message), 400


@bp.route("/tools/pipelines/<int:pipeline_id>/delete", methods=["POST"])
def delete_pipeline(pipeline_id: int) -> Response:
    if not queries.delete_pipeline(get_db(), pipeline_id, current_user.id):
        raise NotFound("No such pipeline.")
    flash("Pipeline deleted.")
    return redirect(url_for("tools.pipelines"))


@bp.route("/tools/pipelines/<int:pipeline_id>/run", methods=["POST"])
def run_pipeline(pipeline_id: int) -> Response:
    """From the pipelines page (a search) or the grid's selection bar (ids or "all")."""
    form = request.form
    db, viewer = get_db(), current_viewer()
    row = pipeline_service.owned_pipeline(db, pipeline_id, current_user.id)
    try:
        selection = _form_selection(form)
        job_id = pipeline_service.start_pipeline_run(
            db, current_app.extensions["salon.media"], viewer, row, selection,
            form.get("mode", "version"), current_app.config)
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
        return redirect(safe_next(form.get("next"), url_for("tools.pipelines")))
    return redirect(url_for("tools.run_page", job_id=job_id))


def _form_selection(form: Any) -> pipeline_service.Selection:
    if form.get("source") == "query":
        return pipeline_service.Selection(query=form.get("q", ""))
    owner_id = current_user.id if form.get("scope") == "mine" else None
    ids = bulk_actions.selection(get_db(), current_viewer(), form.getlist("ids"),
                                 everything=form.get("all") == "1", query=form.get("q", ""),
                                 owner_id=owner_id)
    return pipeline_service.Selection(image_ids=tuple(ids))


@bp.route("/tools/runs/<int:job_id>")
def run_page(job_id: int) -> str:
    run = queries.run_of_job(get_db(), job_id, current_user.id)
    if run is None:
        raise NotFound("No such tool run.")
    return render_template("tools/run.html", run=run_json(run))


# -- admin --------------------------------------------------------------------------


@bp.route("/admin/tools", methods=["GET", "POST"])
@admin_required
def admin() -> Response | str:
    db = get_db()
    if request.method == "POST":
        enabled = set(request.form.getlist("enabled"))
        set_disabled_tools(db, [tool.id for tool in all_tools() if tool.id not in enabled])
        flash("Tool settings saved.")
        return redirect(url_for("tools.admin"))
    return render_template("tools/admin.html", groups=by_category(all_tools()),
                           disabled=disabled_tools(db))


# -- the picture page's tools menu and versions strip --------------------------------------


@bp.app_template_global()
def picture_tools() -> list[Any]:
    """Enabled tools that take one picture, for a picture page's "Tools" menu."""
    if not current_user.is_authenticated:
        return []
    return [tool for tool in enabled_tools(get_db())
            if tool.inputs.min_files <= 1 <= tool.inputs.max_files and "image" in
            tool.inputs.accepts and not tool.inputs.extra]


@bp.app_template_global()
def picture_versions(image_id: int) -> dict[str, Any]:
    """The parent chain and the versions made from a picture, as the viewer may see them."""
    db, viewer = get_db(), current_viewer()
    own = queries.version_of(db, image_id)
    return {"made_by": own, "ancestors": queries.ancestors(db, image_id, viewer),
            "descendants": queries.descendants(db, image_id, viewer)}


@bp.app_template_global()
def my_pipelines() -> list[Any]:
    if not current_user.is_authenticated:
        return []
    return queries.list_pipelines(get_db(), current_user.id)
