"""Template helpers shared by every page."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app
from flask_login import current_user

from app.auth.access import current_viewer


def preferences() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {}
    return json.loads(current_user.preferences or "{}")


def context() -> dict[str, Any]:
    return {
        "instance_name": current_app.config["INSTANCE_NAME"],
        "viewer": current_viewer(),
        "preferences": preferences(),
    }


def human_size(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def init_app(app: Flask) -> None:
    app.context_processor(context)
    app.jinja_env.filters["human_size"] = human_size
    app.jinja_env.globals["json_loads"] = json.loads
