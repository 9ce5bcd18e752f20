"""Server-rendered pages: one blueprint per area."""

from __future__ import annotations

from flask import Flask

from app.web import (
    admin,
    auth,
    collections,
    compare,
    converters,
    errors,
    gallery,
    media,
    models,
    queue,
    search_help,
    settings,
    stats,
    tags,
    templating,
)


def init_app(app: Flask) -> None:
    converters.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    for module in (auth, gallery, media, settings, admin, queue, models, search_help, tags,
                   collections, compare, stats):
        app.register_blueprint(module.bp)
