"""Runs the web application under gunicorn: one process, ``gthread`` workers.

One process keeps the Socket.IO bridge simple (no message queue needed);
threads serve concurrent requests while SQLite in WAL mode serves readers.

Socket.IO runs in threading mode: simple-websocket takes the raw socket from
gunicorn (``gunicorn.socket``), and each open WebSocket keeps one thread of
the pool for its whole life. So the pool has ``LIVE_CONNECTIONS`` threads on
top of ``WEB_THREADS`` (the pool starts threads only when they are needed),
and a stopping worker closes the live sockets first: they would otherwise
hold it open until the graceful timeout.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)

LIVE_CONNECTIONS = 100


class LiveThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker that closes Socket.IO connections when told to stop."""

    def handle_exit(self, sig: int, frame: Any) -> None:  # SIGTERM: graceful stop
        self._close_live_sockets()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig: int, frame: Any) -> None:  # SIGINT, SIGQUIT: quick stop
        self._close_live_sockets()
        super().handle_quit(sig, frame)

    def _close_live_sockets(self) -> None:
        from app.realtime import bridge

        app = getattr(self, "wsgi", None)  # None when told to stop before it loaded the app
        if isinstance(app, Flask) and "salon.realtime" in app.extensions:
            # Not in the signal handler itself: closing waits on the sockets' writer threads.
            threading.Thread(target=bridge(app).stop, name="salon-close-sockets").start()


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def gunicorn_options(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "bind": f"{config['HOST']}:{config['PORT']}",
        "workers": 1,
        "worker_class": LiveThreadWorker,
        "threads": config["WEB_THREADS"] + LIVE_CONNECTIONS,
        "timeout": 120,
        "graceful_timeout": 20,
        # Idle keep-alive connections wait in gthread's poller, not in a thread, so a
        # long keep-alive is cheap; gunicorn's 2 s default races clients reusing them.
        "keepalive": 75,
        "accesslog": "-",
        "loglevel": config["LOG_LEVEL"].lower(),
        # One control socket per user account: side-by-side instances would fight over it.
        "control_socket_disable": True,
    }


def serve(app: Flask) -> None:
    config = app.config
    print(f"Salon is running on {config['BASE_URL']}  (Ctrl-C to stop)", flush=True)
    # The worker is a forked child: it must not inherit the connection `salon init` used.
    app.extensions["salon.db"].close()
    _Gunicorn(app, gunicorn_options(config)).run()
