"""Real Salon instances for federation tests and the benchmark: ``salon web`` (gunicorn)
and ``salon worker`` as subprocesses on free loopback ports, each with its own folders."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.db import Database

SALON = [sys.executable, "-m", "app.cli"]
ADMIN = ("admin", "federation test password")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Instance:
    """One Salon: its environment, its processes, its database file."""

    def __init__(self, root: Path, name: str, **settings: str) -> None:
        self.name = name
        self.root = root / name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SALON_INSTANCE": str(self.root / "instance"),
                    "SALON_DATABASE": str(self.root / "instance" / "salon.db"),
                    "SALON_UPLOADS": str(self.root / "uploads"), "SALON_HOST": "127.0.0.1",
                    "SALON_PORT": str(self.port), "SALON_BASE_URL": self.url,
                    "SALON_INSTANCE_NAME": name, "SALON_FEDERATION_ALLOW_PRIVATE": "1",
                    "SALON_WEB_THREADS": "4", "SALON_LOG_LEVEL": "WARNING",
                    "SALON_WORKER_CONCURRENCY": "1", **settings}
        self.processes: list[subprocess.Popen[bytes]] = []
        self._db: Database | None = None

    # -- processes --------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*SALON, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"salon {' '.join(args)} failed ({done.returncode}):"
                                 f"\n{done.stdout}\n{done.stderr}")
        return done

    def spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with (self.root / log).open("ab") as out:
            process = subprocess.Popen([*SALON, *args], env=self.env, stdout=out,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self) -> Instance:
        self.root.mkdir(parents=True, exist_ok=True)
        self.cli("create-admin", "--username", ADMIN[0], "--password", ADMIN[1])
        web = self.spawn("web", log="web.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if web.poll() is not None:
                raise RuntimeError((self.root / "web.log").read_text())
            try:
                httpx.get(self.url + "/.well-known/salon", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start in 30 s")

    def start_worker(self) -> subprocess.Popen[bytes]:
        return self.spawn("worker", "--concurrency", "1", log="worker.log")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._db is not None:
            self._db.close()

    # -- data -------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.env["SALON_DATABASE"])
        return self._db

    def peers(self) -> list[dict[str, Any]]:
        return json.loads(self.cli("peers", "list", "--json").stdout)["peers"]

    def peer(self, base_url: str) -> dict[str, Any]:
        return next(peer for peer in self.peers() if peer["base_url"] == base_url)

    def search(self, query: str) -> list[dict[str, Any]]:
        done = self.cli("search", query, "--json", "--limit", "1000")
        return json.loads(done.stdout)["results"]

    def api_key(self, username: str) -> str:
        return self.cli("api-key", "create", "--user", username, "--name", "test").stdout.strip()
