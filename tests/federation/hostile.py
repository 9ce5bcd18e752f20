"""A small HTTP server for federation tests: a well-behaved peer or a hostile one.

``HostileServer`` runs ``http.server`` in a thread on a loopback address. Each
route (longest path prefix wins) is a function ``(handler) -> None`` that
writes the whole response; the helpers below build the usual ones: JSON,
bytes with any content type, redirects, a lazily streamed huge body, a
trickle. Every request is recorded (method, path, headers, body), and the
bytes a streaming route managed to send are counted, so a test can prove the
client stopped early.

    with HostileServer() as server:
        server.route("/doc", json_response({"ok": True}))
        client.request("GET", server.url("/doc"))
        assert server.requests[0].path == "/doc"
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[["Handler"], None]


@dataclass
class Recorded:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # names lower-cased
    body: bytes


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded = Recorded(self.command, self.path,
                            {k.lower(): v for k, v in self.headers.items()}, body)
        self.recorded = recorded
        self.server.owner.requests.append(recorded)
        route = self.server.owner.find(self.path.split("?", 1)[0])
        if route is None:
            send(self, 404, b'{"error": "not found"}', "application/json")
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client left
            route(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HostileServer


class HostileServer:
    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.scheme = "https" if tls else "http"
        self.routes: dict[str, Route] = {}
        self.requests: list[Recorded] = []
        self.sent: dict[str, int] = {}  # bytes written by streaming routes, by path
        self._server = _Server((host, 0), Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, prefix: str, handler: Route) -> None:
        self.routes[prefix] = handler

    def find(self, path: str) -> Route | None:
        matches = [prefix for prefix in self.routes if path.startswith(prefix)]
        return self.routes[max(matches, key=len)] if matches else None

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- responses --------------------------------------------------------------------------


def send(handler: Handler, status: int, body: bytes, content_type: str,
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def body_response(body: bytes, content_type: str = "application/octet-stream",
                  status: int = 200, headers: dict[str, str] | None = None) -> Route:
    return lambda handler: send(handler, status, body, content_type, headers)


def json_response(document: Any, status: int = 200) -> Route:
    return body_response(json.dumps(document).encode(), "application/json", status)


def redirect(location: str, status: int = 302) -> Route:
    return body_response(b"", "text/plain", status, {"Location": location})


def huge(total: int = 2**30, announce_length: bool = True, chunk: int = 64 * 1024) -> Route:
    """``total`` bytes, produced as they are read (never held in memory); counts what was
    actually sent in ``server.sent[path]``."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        if announce_length:
            handler.send_header("Content-Length", str(total))
        handler.end_headers()
        _pump(handler, total, chunk, 0.0)

    return route


def trickle(total: int = 100_000, every: float = 0.05, content_type: str = "image/png") -> Route:
    """One byte every ``every`` seconds (a slowloris in reverse)."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        _pump(handler, total, 1, every)

    return route


def _pump(handler: Handler, total: int, chunk: int, pause: float) -> None:
    owner = handler.server.owner
    path = handler.path.split("?", 1)[0]
    owner.sent[path] = 0
    block = b"\x00" * chunk
    while owner.sent[path] < total:
        handler.wfile.write(block)
        handler.wfile.flush()
        owner.sent[path] += chunk
        if pause:
            time.sleep(pause)
