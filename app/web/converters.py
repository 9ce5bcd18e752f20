"""URL converters, so every URL variable is checked before a view runs."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter


class JobKindConverter(BaseConverter):
    """A job kind: lower-case words joined by dots, e.g. ``maintenance.prune_events``."""

    regex = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*"


class TagNameConverter(BaseConverter):
    """A tag name as stored: 1–100 characters, no control characters. Slashes are
    allowed (``fate/stay night``), so the name may span path segments."""

    regex = r"[^\x00-\x1f\x7f]{1,100}?"
    part_isolating = False


def init_app(app: Flask) -> None:
    app.url_map.converters["kind"] = JobKindConverter
    app.url_map.converters["tag"] = TagNameConverter
