"""Runs the web application under gunicorn: one process, ``gthread`` workers.

One process keeps the Socket.IO bridge simple (no message queue needed);
threads serve concurrent requests while SQLite in WAL mode serves readers.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def serve(app: Flask) -> None:
    config = app.config
    print(f"Salon is running on {config['BASE_URL']}  (Ctrl-C to stop)", flush=True)
    options = {
        "bind": f"{config['HOST']}:{config['PORT']}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": config["WEB_THREADS"],
        "timeout": 120,
        "graceful_timeout": 20,
        "accesslog": "-",
        "loglevel": config["LOG_LEVEL"].lower(),
    }
    _Gunicorn(app, options).run()
