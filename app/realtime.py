"""The realtime bridge: job events from SQLite to browsers over Socket.IO.

Workers are other processes and cannot reach the browsers' sockets, so they
only append rows to ``job_events`` (in the same transaction as the job change,
see ``app.jobs.queue``). This module's relay, one background thread per web
process, reads the rows past the last id it relayed every
``REALTIME_POLL_MS`` and emits each one to the rooms allowed to see it. No
broker is needed on one machine.

Privacy is decided by rooms, in one function (``route``): a job's events go
to its owner's room ``user:<id>`` and to ``admins``; a picture's
``image.updated`` goes to its owner and to ``image:<id>``, which a socket
joins only after ``get_image`` has said its viewer may open that picture.
Anonymous sockets are refused, so every socket is in exactly one user room.
A page on another site cannot open a socket on a visitor's session: Engine.IO
accepts only same-origin ``Origin`` headers (its default, kept on purpose).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user
from flask_socketio import SocketIO, join_room

from app.db import Database, Row
from app.errors import AppError
from app.queries import images
from app.queries.visibility import Viewer

log = logging.getLogger(__name__)

# Handlers are one indexed query each: running them on the connection's own
# thread spares a thread (and a SQLite connection) per event.
socketio = SocketIO(async_mode="threading", async_handlers=False)

BATCH = 500
JOB_EVENTS = ("job.state", "job.progress")
ADMINS = "admins"

Emit = Callable[[str, dict[str, Any], list[str]], None]


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def image_room(image_id: int) -> str:
    return f"image:{image_id}"


@dataclass(frozen=True)
class Outgoing:
    """One Socket.IO emission: event name, payload, and the rooms that may see it."""

    event: str
    payload: dict[str, Any]
    rooms: list[str]


def route(row: Row) -> Outgoing | None:
    """Who is told about a ``job_events`` row; None for an event no browser should get."""
    event, user_id, image_id = row["event"], row["user_id"], row["image_id"]
    if event in JOB_EVENTS:
        rooms = [ADMINS] + ([user_room(user_id)] if user_id is not None else [])
    elif event == "image.updated":
        rooms = [image_room(image_id)] if image_id is not None else []
        rooms += [user_room(user_id)] if user_id is not None else []
    else:
        return None
    if not rooms:
        return None
    return Outgoing(event, json.loads(row["data"]), rooms)


# -- the relay ----------------------------------------------------------------------------


def last_event_id(db: Database) -> int:
    return int(db.value("SELECT coalesce(max(id), 0) FROM job_events"))


def events_after(db: Database, event_id: int, limit: int = BATCH) -> list[Row]:
    return db.all("SELECT id, job_id, event, user_id, image_id, data FROM job_events"
                  " WHERE id > ? ORDER BY id LIMIT ?", (event_id, limit))


class Relay:
    """Tails ``job_events`` by id and emits each new row to its rooms."""

    def __init__(self, db: Database, emit: Emit, poll_seconds: float) -> None:
        self.db = db
        self.emit = emit
        self.poll_seconds = poll_seconds
        self.last_id: int | None = None
        self._stopping = threading.Event()

    def skip_backlog(self) -> None:
        """Start from now: events written before the relay started are not replayed."""
        self.last_id = last_event_id(self.db)

    def poll_once(self) -> int:
        """Relay one batch of new rows; return how many rows were read."""
        if self.last_id is None:
            self.skip_backlog()
        assert self.last_id is not None
        rows = events_after(self.db, self.last_id)
        for row in rows:
            self.last_id = row["id"]  # first, so a row that fails to send is not retried forever
            self._send(row)
        if not rows and last_event_id(self.db) < self.last_id:
            self.last_id = 0  # the table was emptied by pruning and ids started again
        return len(rows)

    def _send(self, row: Row) -> None:
        try:
            outgoing = route(row)
            if outgoing is not None:
                self.emit(outgoing.event, outgoing.payload, outgoing.rooms)
        except Exception:  # one bad row must not stop the relay for everyone
            log.exception("could not relay job event %s", row["id"])

    def run(self) -> None:
        """The background loop: poll, and sleep only when the last batch was not full."""
        log.info("realtime relay started (every %.0f ms)", self.poll_seconds * 1000)
        try:
            while not self._stopping.is_set():
                if self._poll_safely() < BATCH:
                    self._stopping.wait(self.poll_seconds)
        finally:
            self.db.close()

    def _poll_safely(self) -> int:
        try:
            return self.poll_once()
        except Exception:
            log.exception("realtime relay: reading job events failed")
            return 0

    def stop(self) -> None:
        self._stopping.set()


class Bridge:
    """Per-app state: the relay (started once), and the viewer behind each socket."""

    def __init__(self, relay: Relay, server: Any) -> None:
        self.relay = relay
        self.server = server
        self.viewers: dict[str, Viewer] = {}
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> bool:
        """Start the relay unless it runs already; True when this call started it."""
        with self._lock:
            if self._started:
                return False
            self._started = True
            self.relay.skip_backlog()
        socketio.start_background_task(self.relay.run)
        return True

    def stop(self) -> None:
        """Stop relaying and close every live socket (a stopping server is not held open)."""
        self.relay.stop()
        eio = self.server.eio
        for socket in list(eio.sockets.values()):
            # Without waiting: a polling client that never polls again would block forever.
            socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)


def _emitter(server: Any) -> Emit:
    def emit(event: str, payload: dict[str, Any], rooms: list[str]) -> None:
        server.emit(event, payload, to=rooms)  # a socket in several of the rooms gets it once

    return emit


def init_app(app: Flask) -> None:
    socketio.init_app(app)
    # Bind this app's server now: each init_app gives the shared SocketIO a new one.
    server = socketio.server
    relay = Relay(app.extensions["salon.db"], _emitter(server),
                  app.config["REALTIME_POLL_MS"] / 1000)
    app.extensions["salon.realtime"] = Bridge(relay, server)


def bridge(app: Flask | None = None) -> Bridge:
    return (app or current_app).extensions["salon.realtime"]


# -- socket handlers ---------------------------------------------------------------------


def _authenticate() -> Viewer | None:
    """The socket's user: an API key in the handshake headers, else the session cookie."""
    from app.auth.session import authenticate_api_key

    try:
        authenticate_api_key()
    except AppError:
        return None
    if not current_user.is_authenticated:
        return None
    return Viewer(current_user.id, current_user.role == "admin")


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    viewer = _authenticate()
    if viewer is None or viewer.user_id is None:
        raise ConnectionRefusedError("Log in first.")
    join_room(user_room(viewer.user_id))
    if viewer.is_admin:
        join_room(ADMINS)
    state = bridge()
    state.viewers[request.sid] = viewer  # type: ignore[attr-defined]
    state.start()


@socketio.on("disconnect")
def on_disconnect(*_reason: Any) -> None:
    bridge().viewers.pop(request.sid, None)  # type: ignore[attr-defined]


def _image_id(data: Any) -> int | None:
    value: Any = data.get("image_id") if isinstance(data, dict) else data
    if isinstance(value, bool):
        return None
    try:
        image_id = int(value)
    except (TypeError, ValueError):
        return None
    return image_id if 0 < image_id < 2**63 else None  # SQLite's integers


@socketio.on("watch_image")
def on_watch_image(data: Any = None) -> dict[str, Any]:
    """Join ``image:<id>`` if this socket's viewer may open the picture; the ack says which."""
    image_id = _image_id(data)
    viewer = bridge().viewers.get(request.sid)  # type: ignore[attr-defined]
    db = current_app.extensions["salon.db"]
    if image_id is None or viewer is None or images.get_image(db, image_id, viewer) is None:
        return {"ok": False, "error": "No such picture."}
    join_room(image_room(image_id))
    return {"ok": True, "image_id": image_id}


@socketio.on("echo")
def on_echo(data: Any = None) -> Any:
    """Sends the argument back: a client's round-trip check (and the benchmark's baseline)."""
    return data
