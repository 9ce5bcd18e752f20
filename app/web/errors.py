"""Renders every error once: JSON for the API and JSON clients, HTML otherwise."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.auth.access import wants_json
from app.errors import AppError

log = logging.getLogger(__name__)


def render_error(status: int, message: str, details: dict | None = None,
                 headers: dict | None = None) -> Response:
    if wants_json():
        response = jsonify({"error": message, **(details or {})})
    else:
        response = Response(render_template("errors/error.html", status=status, message=message),
                            mimetype="text/html")
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_app_error(error: AppError) -> Response:
    log.info("refused (%s): %s %s", error.status, error.message, error.details or "")
    headers = {}
    if "retry_after" in error.details:
        headers["Retry-After"] = str(error.details["retry_after"])
    return render_error(error.status, error.message, error.details, headers)


def handle_csrf(error: CSRFError) -> Response:
    log.info("refused CSRF: %s", error.description)
    return render_error(400, f"The form expired or came from another site ({error.description}). "
                             "Reload the page and try again.")


def handle_http(error: HTTPException) -> Response:
    log.info("refused (%s): %s", error.code, error.description)
    if error.code == 413:
        limit = current_app.config["MAX_UPLOAD_MB"]
        return render_error(413, f"The upload is larger than the {limit} MB limit.",
                            {"limit_bytes": limit * 2**20})
    return render_error(error.code or 500, error.description or error.name)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return render_error(500, InternalServerError.description)


def init_app(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
