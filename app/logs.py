"""Logging set-up: one format, level from ``SALON_LOG_LEVEL``."""

from __future__ import annotations

import logging

from flask import Flask


def configure(level: str) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_salon", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._salon = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    # libvips reports every thread pool and resampling plan at INFO: not news to an operator.
    logging.getLogger("pyvips").setLevel(max(logging.WARNING, root.level))


def init_app(app: Flask) -> None:
    if not app.testing:
        configure(app.config["LOG_LEVEL"])
