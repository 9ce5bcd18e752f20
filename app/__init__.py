"""Salon: a self-hosted, federated AI image gallery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application. Wiring only: no I/O beyond reading config."""
    from app import config as settings
    from app import db, logs, realtime
    from app.api import init_app as init_api
    from app.auth import access, session
    from app.jobs.registry import load_handlers
    from app.media import storage
    from app.web import init_app as init_web

    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(settings.load_config(config))
    logs.init_app(app)
    load_handlers(app.config["JOB_MODULES"])
    db.init_app(app)
    storage.init_app(app)
    session.init_app(app)
    # Order matters: who is calling, then may they, then is the form genuine.
    app.before_request(session.authenticate_api_key)
    app.before_request(access.enforce_access)
    app.before_request(session.check_csrf)
    init_web(app)
    init_api(app)
    realtime.init_app(app)
    return app
