"""Server-rendered pages: one blueprint per area."""

from __future__ import annotations

from flask import Flask

from app.federation import wellknown
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
    peers,
    proxy,
    queue,
    search_help,
    settings,
    stats,
    tags,
    templating,
    tools,
)


def init_app(app: Flask) -> None:
    converters.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    for module in (auth, gallery, media, settings, admin, queue, models, search_help, tags,
                   collections, compare, stats):
        app.register_blueprint(module.bp)
    app.register_blueprint(proxy.bp)
    app.register_blueprint(wellknown.bp)
    app.register_blueprint(peers.bp)
    app.register_blueprint(tools.bp)
