"""``salon run``: the web application plus one worker, restarted if it dies.

The worker is a child process (``salon worker --concurrency 1``) with the
same environment, so heavy work never shares the web process. A watcher
thread restarts it with a short backoff; when the web server exits, the
worker is stopped gracefully.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

from flask import Flask

from app.server import serve

log = logging.getLogger(__name__)

RESTART_DELAYS = (1, 2, 5, 10, 30)


class WorkerWatcher:
    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.restarts = 0

    def start(self) -> None:
        self.process = subprocess.Popen(self.command)
        threading.Thread(target=self._watch, name="worker-watcher", daemon=True).start()

    def _watch(self) -> None:
        while not self.stopping.is_set():
            assert self.process is not None
            code = self.process.wait()
            if self.stopping.is_set():
                return
            delay = RESTART_DELAYS[min(self.restarts, len(RESTART_DELAYS) - 1)]
            log.warning("the worker exited (code %s); restarting it in %s s", code, delay)
            if self.stopping.wait(delay):
                return
            self.restarts += 1
            self.process = subprocess.Popen(self.command)

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve_with_worker(app: Flask) -> None:
    watcher = WorkerWatcher([sys.executable, "-m", "app.cli", "worker", "--concurrency", "1"])
    watcher.start()
    started, owner = time.monotonic(), os.getpid()
    try:
        serve(app)
    finally:
        # gunicorn's worker processes are forks of this one and unwind through here when
        # they exit; only the process that started the job worker may stop it.
        if os.getpid() == owner:
            log.info("stopping the worker (ran %.0f s)", time.monotonic() - started)
            watcher.stop(timeout=app.config["WORKER_GRACE_SECONDS"] + 5)
