"""Tool pages: the index by category, one page per tool (a form generated from its
settings model), pipelines, a run's live progress, and the admin's tool switches.

Running goes through the JSON API (``app/api/tools.py``) from the page's script;
these views only render, and refuse disabled tools like the API does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app import bulk as bulk_actions
from app.api.tools import install_converter, run_json
from app.auth.access import admin_required, current_viewer
from app.db import get_db
from app.errors import AppError, BadRequest, NotFound
from app.jobs import control
from app.queries import images
from app.queries import tools as queries
from app.tools import pipelines as pipeline_service
from app.tools.base import all_tools, get_tool
from app.tools.forms import (
    STEP_LIMIT,
    StepForm,
    attach_errors,
    form_fields,
    move_step,
    new_step,
    posted_steps,
    saved_steps,
    settings_summary,
)
from app.tools.registry import (
    InvalidSettings,
    by_category,
    disabled_tools,
    enabled_tool,
    enabled_tools,
    parse_settings,
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
    rows = [queries.pipeline_json(row) for row in queries.list_pipelines(get_db(), current_user.id)]
    for row in rows:
        row["summaries"] = [_step_summary(step) for step in row["steps"]]
    return render_template("tools/pipelines.html", pipelines=rows)


def _step_summary(step: dict[str, Any]) -> dict[str, str]:
    tool = get_tool(str(step.get("tool")))
    if tool is None:
        return {"tool": str(step.get("tool")), "title": str(step.get("tool")), "settings": ""}
    return {"tool": tool.id, "title": tool.title,
            "settings": settings_summary(tool, step.get("settings") or {})}


@bp.route("/tools/pipelines", methods=["POST"])
def save_pipeline() -> Response | tuple[str, int]:
    """Save a pipeline whose steps come as JSON (``steps``), as scripts and the API do."""
    form = request.form
    pipeline_id = int(form["id"]) if form.get("id", "").isdigit() else None
    try:
        steps = json.loads(form.get("steps") or "[]")
        body = {"name": form.get("name"), "description": form.get("description"),
                "steps": steps}
        saved = pipeline_service.save_pipeline(get_db(), current_user.id, body, pipeline_id)
    except ValueError:
        return _json_form_error("The steps must be valid JSON.")
    except AppError as error:
        if error.status == 404:
            raise
        return _json_form_error(_error_text(error))
    flash("Pipeline saved.")
    return redirect(url_for("tools.pipelines", _anchor=f"pipeline-{saved['id']}"))


def _error_text(error: AppError) -> str:
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in error.details.get("fields", []))
    return f"{error.message}{' — ' + detail if detail else ''}"


def _json_form_error(message: str) -> tuple[str, int]:
    form = request.form
    pipeline_id = int(form["id"]) if form.get("id", "").isdigit() else None
    state = Editor(pipeline_id, form.get("name", ""), form.get("description", ""), [],
                   error=message, steps_json=form.get("steps", ""), advanced_open=True)
    return _render_editor(state, 400)


# -- the step editor ------------------------------------------------------------------


@dataclass
class Editor:
    """What the step editor shows: the pipeline as posted (or stored) and its errors."""

    pipeline_id: int | None
    name: str
    description: str
    steps: list[StepForm]
    error: str = ""
    name_error: str = ""
    note: str = ""
    steps_json: str | None = None
    advanced_open: bool = False


def _render_editor(state: Editor, status: int = 200) -> tuple[str, int]:
    if state.steps_json is None:
        state.steps_json = json.dumps([step.as_json() for step in state.steps], indent=1)
    step_tools = [tool for tool in enabled_tools(get_db()) if tool.pipeline]
    action = (url_for("tools.edit_pipeline", pipeline_id=state.pipeline_id)
              if state.pipeline_id else url_for("tools.new_pipeline"))
    return render_template("tools/pipeline.html", editor=state, step_tools=step_tools,
                           action=action), status


@bp.route("/tools/pipelines/new", methods=["GET", "POST"])
def new_pipeline() -> Response | tuple[str, int]:
    if request.method == "POST":
        return _editor_post(None)
    return _render_editor(Editor(None, "", "", []))


@bp.route("/tools/pipelines/<int:pipeline_id>", methods=["GET", "POST"])
def edit_pipeline(pipeline_id: int) -> Response | tuple[str, int]:
    row = pipeline_service.owned_pipeline(get_db(), pipeline_id, current_user.id)
    if request.method == "POST":
        return _editor_post(pipeline_id)
    stored = queries.pipeline_json(row)
    return _render_editor(Editor(pipeline_id, stored["name"], stored["description"] or "",
                                 saved_steps(stored["steps"], get_tool)))


def _editor_post(pipeline_id: int | None) -> Response | tuple[str, int]:
    form = request.form
    try:
        steps = posted_steps(form, get_tool)
    except ValueError as error:
        raise BadRequest(str(error), field="steps") from None
    state = Editor(pipeline_id, form.get("name", ""), form.get("description", ""), steps)
    action = form.get("action", "save")
    if action == "save":
        return _save_from_editor(state)
    if action == "json":
        return _load_json(state, form.get("steps_json", ""))
    if action == "add":
        return _add_step(state, form.get("add_tool", ""))
    try:
        move_step(state.steps, action)
    except ValueError as error:
        raise BadRequest(str(error), field="action") from None
    state.note = "Steps changed: press “Save pipeline” to keep them."
    return _render_editor(state)


def _add_step(state: Editor, tool_id: str) -> tuple[str, int]:
    tool = enabled_tool(get_db(), tool_id)
    if not tool.pipeline:
        raise BadRequest(f"{tool.id} cannot be a pipeline step.", field="add_tool")
    if len(state.steps) >= STEP_LIMIT:
        state.error = f"A pipeline has at most {STEP_LIMIT} steps."
        return _render_editor(state, 400)
    state.steps.append(new_step(tool))
    state.note = f"Added {tool.title}: set it up, then press “Save pipeline”."
    return _render_editor(state)


def _load_json(state: Editor, text: str) -> tuple[str, int]:
    try:
        raw = json.loads(text or "[]")
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise ValueError
    except ValueError:
        state.error = 'The JSON must be a list of {"tool": id, "settings": {...}}.'
        state.steps_json, state.advanced_open = text, True
        return _render_editor(state, 400)
    state.steps = saved_steps(raw[:STEP_LIMIT], get_tool)
    state.note = "Steps loaded from the JSON: press “Save pipeline” to keep them."
    return _render_editor(state)


def _check_step_settings(steps: list[StepForm]) -> bool:
    for step in steps:
        try:
            parse_settings(step.tool, step.settings)
        except InvalidSettings as error:
            attach_errors(step, error.details.get("fields", []))
    return not any(step.errors for step in steps)


def _save_from_editor(state: Editor) -> Response | tuple[str, int]:
    if not _check_step_settings(state.steps):
        state.error = "Some settings are not valid: see the marked fields."
        return _render_editor(state, 400)
    body = {"name": state.name, "description": state.description,
            "steps": [step.as_json() for step in state.steps]}
    try:
        saved = pipeline_service.save_pipeline(get_db(), current_user.id, body,
                                               state.pipeline_id)
    except AppError as error:
        if error.status == 404:
            raise
        _place_error(state, error)
        return _render_editor(state, 400)
    flash(f"Pipeline {saved['name']!r} saved.")
    return redirect(url_for("tools.pipelines", _anchor=f"pipeline-{saved['id']}"))


def _place_error(state: Editor, error: AppError) -> None:
    """A save error next to what it is about: the name, a step, or the whole form."""
    where = str(error.details.get("field", ""))
    if where == "name":
        state.name_error = error.message
        return
    parts = where.split(".")
    if len(parts) > 1 and parts[0] == "steps" and parts[1].isdigit() \
            and int(parts[1]) < len(state.steps):
        state.steps[int(parts[1])].errors[""] = error.message
    state.error = _error_text(error)


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


@bp.route("/tools/runs/<int:job_id>/cancel", methods=["POST"])
def cancel_run(job_id: int) -> Response:
    """Stop a run: queued pictures are not started, the one in hand finishes."""
    db = get_db()
    if queries.run_of_job(db, job_id, current_user.id) is None:
        raise NotFound("No such tool run.")
    try:
        control.cancel(db, job_id, current_viewer())
        flash("Cancelled: pictures not yet started will not be processed.", "success")
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    return redirect(url_for("tools.run_page", job_id=job_id))


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
