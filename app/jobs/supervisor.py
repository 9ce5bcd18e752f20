"""``salon worker``: a supervisor over long-lived worker processes.

A crash inside a handler (a segfaulting model, the OOM killer) takes down one
child: its jobs are given back and the child is restarted. A job running past
its timeout is killed together with its child and retried. SIGTERM/SIGINT
stop the claiming; running jobs get a grace period, then the rest are
released. Every few seconds the supervisor also reaps expired leases,
resumes blocked jobs whose resource has arrived, and queues maintenance.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from app.db import Database
from app.jobs import resources
from app.jobs.queue import Queue

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
HOUSEKEEPING_SECONDS = 5.0
# federation.schedule only queues the syncs that are due (SALON_FEDERATION_SYNC_MINUTES).
MAINTENANCE = {"maintenance.prune_events": 3600.0, "maintenance.cleanup_files": 6 * 3600.0,
               "federation.schedule": 60.0}


@dataclass
class Child:
    owner: str
    process: subprocess.Popen[bytes]
    restarts: int = 0


@dataclass
class Supervisor:
    config: dict[str, Any]
    concurrency: int = 1
    kinds: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.queue = Queue(Database(self.config["DATABASE"]))
        self.children: list[Child] = []
        self.prefix = f"{socket.gethostname()}:{os.getpid()}"
        self._last_housekeeping = 0.0
        self._last_maintenance: dict[str, float] = {}

    def run(self) -> None:
        """Start the children and watch them until asked to stop."""
        for index in range(self.concurrency):
            self.children.append(self._spawn(f"{self.prefix}:{index}"))
        log.info("worker supervisor %s started %d process(es)", self.prefix, self.concurrency)
        while not self.stopping.wait(TICK_SECONDS):
            self.tick()
        self.shutdown()

    def tick(self) -> None:
        for child in self.children:
            self._check_alive(child)
            self._check_timeouts(child)
        if time.monotonic() - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
            self._last_housekeeping = time.monotonic()
            self.housekeeping()

    def _spawn(self, owner: str) -> Child:
        command = [sys.executable, "-m", "app.jobs.child", "--owner", owner]
        if self.kinds:
            command += ["--kinds", ",".join(self.kinds)]
        return Child(owner, subprocess.Popen(command))

    def _restart(self, child: Child, reason: str, count_attempt: bool = True) -> None:
        given_back = self.queue.release(child.owner, reason, count_attempt=count_attempt)
        log.warning("worker process %s: %s; %d job(s) given back; restarting",
                    child.owner, reason, given_back)
        fresh = self._spawn(child.owner)
        child.process, child.restarts = fresh.process, child.restarts + 1

    def _check_alive(self, child: Child) -> None:
        code = child.process.poll()
        if code is not None and not self.stopping.is_set():
            self._restart(child, f"The worker process died (exit code {code}).")

    def _check_timeouts(self, child: Child) -> None:
        now = self.queue.clock()
        overdue = self.queue.db.one(
            "SELECT id, kind, timeout_seconds FROM jobs WHERE state = 'running'"
            " AND lease_owner = ? AND started_at + timeout_seconds < ?", (child.owner, now))
        if overdue is None:
            return
        child.process.kill()
        child.process.wait()
        self._restart(child, f"Timed out after {overdue['timeout_seconds']:.0f} s.")

    def housekeeping(self) -> None:
        self.queue.reap_expired()
        for resource in self.queue.blocked_resources():
            if resources.available(resource, self.config):
                resumed = self.queue.resume_blocked(resource)
                log.info("%s is available again: %d job(s) resumed", resource, resumed)
        self._push_federation()
        now = time.monotonic()
        for kind, every in MAINTENANCE.items():
            if now - self._last_maintenance.get(kind, -every) >= every:
                self._last_maintenance[kind] = now
                self.queue.enqueue(kind, dedupe_key=kind)

    def _push_federation(self) -> None:
        """Queue a push to our followers when the change feed moved (a few indexed reads)."""
        from app.federation.push import PUSH_KIND, push_due

        try:
            if push_due(self.queue.db, self.config):
                self.queue.enqueue(PUSH_KIND, dedupe_key=PUSH_KIND)
        except Exception:  # the supervisor must outlive any federation trouble
            log.exception("federation push check failed")

    def shutdown(self) -> None:
        """Let running jobs finish within the grace period, then release what is left."""
        grace = self.config["WORKER_GRACE_SECONDS"]
        for child in self.children:
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + grace
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            self.queue.release(child.owner, "The worker shut down.", count_attempt=False)
        log.info("worker supervisor %s stopped", self.prefix)


def install_signal_handlers(supervisor: Supervisor) -> None:
    def stop(signum: int, _frame: Any) -> None:
        log.info("received %s: finishing running jobs", signal.Signals(signum).name)
        supervisor.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
