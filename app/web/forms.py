"""Small helpers for server-rendered forms (validate, re-render with 400, PRG)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import render_template, request

from app.errors import AppError

log = logging.getLogger(__name__)


def form_error(template: str, error: AppError, **context: Any) -> tuple[str, int, dict]:
    """Re-render ``template`` with the error and the user's input (never passwords)."""
    log.info("form refused (%s): %s", error.status, error.message)
    values = {k: v for k, v in request.form.items() if "password" not in k}
    headers = {}
    if "retry_after" in error.details:
        headers["Retry-After"] = str(error.details["retry_after"])
    html = render_template(template, error=error.message, error_field=error.details.get("field"),
                           values=values, **context)
    return html, error.status, headers


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
