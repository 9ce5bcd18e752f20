"""URL converters, so every URL variable is checked before a view runs."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter


class JobKindConverter(BaseConverter):
    """A job kind: lower-case words joined by dots, e.g. ``maintenance.prune_events``."""

    regex = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*"


def init_app(app: Flask) -> None:
    app.url_map.converters["kind"] = JobKindConverter
