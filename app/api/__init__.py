"""The JSON API under ``/api/v1`` and its OpenAPI document."""

from __future__ import annotations

from flask import Flask

from app.api import docs, images, jobs, organise, search


def init_app(app: Flask) -> None:
    app.register_blueprint(images.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(organise.bp)
    app.register_blueprint(docs.bp)
