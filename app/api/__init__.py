"""The JSON API under ``/api/v1`` and its OpenAPI document."""

from __future__ import annotations

from flask import Flask

from app.api import docs, images, jobs, organise, search
from app.api import peers as peers_api
from app.api import tools as tools_api
from app.federation import api as federation_api


def init_app(app: Flask) -> None:
    app.register_blueprint(images.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(organise.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(federation_api.bp)
    app.register_blueprint(peers_api.bp)
    app.register_blueprint(tools_api.bp)
