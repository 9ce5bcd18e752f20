"""Event latency through the realtime bridge, against a Socket.IO round trip, in one run.

    .venv/bin/python bench/events.py [--events 300] [--transport websocket|polling]

A real ``salon web`` (gunicorn, its own throwaway instance) and a real
python-socketio client logged in as a user. For each event: the benchmark
plays the worker, calling ``Queue.progress`` on the database (which appends
to ``job_events``), and times until the client receives that ``job.progress``.
Each write waits a random part of a poll interval first, so the writes fall
at every phase of the relay's polling loop instead of just after a poll.

Baseline, same client, same server, same run: the round trip of a no-op
Socket.IO ``call`` (the ``echo`` event). The ratio shows what the polling relay
adds on top of Socket.IO itself; the target is p99 ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Run as a file, this folder comes first on sys.path, and bench/queue.py would hide the
# standard library's queue module (which urllib3, under python-socketio, imports).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

log = logging.getLogger("bench.events")

PASSWORD = "benchmark password"
TARGET_P99_MS = 300.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def salon_web(root: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A throwaway ``salon web`` with one user; yields its URL and environment."""
    import httpx

    port = _free_port()
    env = {**os.environ, "SALON_PORT": str(port), "SALON_HOST": "127.0.0.1",
           "SALON_INSTANCE": str(root / "instance"), "SALON_UPLOADS": str(root / "up"),
           "SALON_LOG_LEVEL": "WARNING"}
    salon = [sys.executable, "-m", "app.cli"]
    subprocess.run([*salon, "create-user", "--username", "bench", "--password", PASSWORD],
                   env=env, check=True, capture_output=True, timeout=60)
    process = subprocess.Popen([*salon, "web"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/login", timeout=1).close()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("salon web did not start") from None
                time.sleep(0.1)
        yield url, env
    finally:
        process.terminate()
        process.wait(timeout=30)


class Listener:
    """A logged-in Socket.IO client that notes when each progress message arrives."""

    def __init__(self, url: str, transport: str) -> None:
        import httpx
        import socketio

        self.arrived: dict[str, float] = {}
        self.changed = threading.Condition()
        with httpx.Client(base_url=url, timeout=10) as http:
            token = re.search(r'name="csrf-token" content="([^"]+)"', http.get("/login").text)
            assert token is not None
            http.post("/login", data={"username": "bench", "password": PASSWORD,
                                      "csrf_token": token.group(1)})
            cookies = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
            headers = {"Cookie": cookies, "User-Agent": http.headers["User-Agent"]}
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("job.progress", self._progress)
        self.sio.connect(url, headers=headers, transports=[transport], wait_timeout=10)

    def _progress(self, job: dict[str, Any]) -> None:
        now = time.perf_counter()
        with self.changed:
            self.arrived[job["message"]] = now
            self.changed.notify_all()

    def wait_for(self, message: str, timeout: float = 10) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: message in self.arrived, timeout):
                raise TimeoutError(f"progress {message!r} never arrived")
            return self.arrived[message]

    def close(self) -> None:
        self.sio.disconnect()


def relay_latencies(listener: Listener, db_path: Path, count: int, poll_s: float) -> list[float]:
    """Seconds from ``Queue.progress`` (the worker's call) to the client's receipt."""
    from app.db import Database
    from app.jobs.queue import Queue

    queue = Queue(Database(db_path))
    user_id = queue.db.value("SELECT id FROM users WHERE username = 'bench'")
    queue.enqueue("sleep", {"seconds": 0}, user_id=user_id)
    job = queue.claim("bench-worker", kinds=["sleep"], lease_seconds=3600)
    assert job is not None
    samples = []
    for index in range(count):
        time.sleep(random.uniform(0, poll_s))
        start = time.perf_counter()
        queue.progress(job.id, "bench-worker", index / count, f"event {index}")
        samples.append(listener.wait_for(f"event {index}") - start)
    queue.succeed(job.id, "bench-worker")
    queue.db.close()
    return samples


def call_latencies(listener: Listener, count: int) -> list[float]:
    """Seconds of a no-op Socket.IO round trip (``echo``) on the same connection."""
    samples = []
    for index in range(count):
        start = time.perf_counter()
        assert listener.sio.call("echo", index, timeout=10) == index
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(sample * 1000 for sample in samples)
    centiles = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": round(centiles[49], 2), "p99_ms": round(centiles[98], 2),
            "mean_ms": round(statistics.fmean(ms), 2), "max_ms": round(ms[-1], 2)}


def run(count: int, transport: str) -> dict[str, Any]:
    from app.config import load_config

    with tempfile.TemporaryDirectory(prefix="salon-bench-events-") as tmp, \
            salon_web(Path(tmp)) as (url, env):
        config = load_config(environ=env)
        poll_s = config["REALTIME_POLL_MS"] / 1000
        listener = Listener(url, transport)
        try:
            call_latencies(listener, 20)  # warm-up: threads, connections, caches
            baseline = summary(call_latencies(listener, count))
            log.info("baseline done; relaying %d events", count)
            relay = summary(relay_latencies(listener, config["DATABASE"], count, poll_s))
        finally:
            listener.close()
    return {"events": count, "transport": transport, "poll_ms": round(poll_s * 1000),
            "relay_progress_to_client": relay, "baseline_socketio_call": baseline,
            "ratio_p50_vs_baseline": round(relay["p50_ms"] / baseline["p50_ms"], 1),
            "ratio_p99_vs_baseline": round(relay["p99_ms"] / baseline["p99_ms"], 1),
            "target_p99_ms": TARGET_P99_MS, "meets_target": relay["p99_ms"] <= TARGET_P99_MS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--transport", choices=("websocket", "polling"), default="websocket")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result = run(max(200, args.events), args.transport)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
