"""Admin "Models" page: what is installed, what is missing (with the exact command to
install it), which jobs wait for it, which model each task uses, and the tagger and
captioner settings.

Installing stays on the command line (downloads of hundreds of MB do not belong
in a web request); choosing a model and tuning the settings happen here, with
Post/Redirect/Get. A settings form with a bad value comes back with a 400, the
field named and the input kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth.access import admin_required
from app.db import get_db
from app.errors import AppError, BadRequest
from app.queries import models as model_queries
from app.queries.settings import all_settings, set_setting
from app.web.forms import form_error
from ml import registry

bp = Blueprint("models", __name__, url_prefix="/admin/models")

TASK_TITLES = {"tagger": "Tagger", "captioner": "Captioner", "nsfw": "NSFW classifier",
               "detector": "Nudity detector", None: "Other"}
# Form field → (label, type, lowest, highest); the field names are the settings keys.
NUMBERS: dict[str, tuple[str, type, float, float]] = {
    "tagger.general_threshold": ("General tag threshold", float, 0.01, 0.99),
    "tagger.character_threshold": ("Character tag threshold", float, 0.01, 0.99),
    "tagger.max_tags": ("Most tags per picture", int, 1, 500),
    "captioner.beams": ("Beams", int, 1, 10),
    "captioner.max_length": ("Longest caption (tokens)", int, 5, 200),
}
PROMPT_MAX = 200


def _models_dir() -> Path:
    return Path(current_app.config["MODELS"])


def page_context() -> dict[str, Any]:
    """The model table grouped by task, and the current settings as form values."""
    rows = model_queries.model_overview(get_db(), _models_dir())
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["task"], []).append(row)
    return {"groups": groups, "titles": TASK_TITLES, "numbers": NUMBERS,
            "models_dir": _models_dir(), "prompt_max": PROMPT_MAX}


def settings_values() -> dict[str, str]:
    settings = all_settings(get_db())
    values = {key: str(settings[key]) for key in NUMBERS}
    values["tagger.mcut"] = "1" if settings["tagger.mcut"] else ""
    values["captioner.prompt"] = settings["captioner.prompt"]
    return values


def _number(form: Mapping[str, str], key: str) -> int | float:
    label, kind, lowest, highest = NUMBERS[key]
    try:
        value = kind(form.get(key, "").strip())
    except ValueError:
        value = None
    if value is None or not lowest <= value <= highest:  # also refuses NaN
        whole = "a whole number" if kind is int else "a number"
        raise BadRequest(f"{label} must be {whole} from {lowest:g} to {highest:g}.", field=key)
    return value


def parse_settings(form: Mapping[str, str]) -> dict[str, Any]:
    """The tagger and captioner settings from the form, or ``BadRequest`` naming the field."""
    values: dict[str, Any] = {key: _number(form, key) for key in NUMBERS}
    values["tagger.mcut"] = bool(form.get("tagger.mcut"))
    prompt = form.get("captioner.prompt", "").strip()
    if len(prompt) > PROMPT_MAX or "\n" in prompt:
        raise BadRequest(f"The caption prompt must be one line of at most {PROMPT_MAX} "
                         "characters.", field="captioner.prompt")
    values["captioner.prompt"] = prompt
    return values


@bp.route("")
@admin_required
def index() -> str:
    return render_template("admin/models.html", values=settings_values(), **page_context())


@bp.route("/use", methods=["POST"])
@admin_required
def use() -> Response:
    name = request.form.get("name", "")
    try:
        task, resumed = model_queries.use_model(get_db(), _models_dir(), name)
    except registry.ModelError as error:
        flash(error.message, "error")
    else:
        waking = f" {resumed} waiting job(s) queued again." if resumed else ""
        flash(f"The {task} now uses {name}.{waking}")
    return redirect(url_for("models.index"))


@bp.route("/settings", methods=["POST"])
@admin_required
def save_settings() -> Response | tuple[str, int, dict]:
    try:
        values = parse_settings(request.form)
    except AppError as error:
        return form_error("admin/models.html", error, **page_context())
    db = get_db()
    with db.transaction():
        for key, value in values.items():
            set_setting(db, key, value)
    flash("Tagger and captioner settings saved.")
    return redirect(url_for("models.index"))
