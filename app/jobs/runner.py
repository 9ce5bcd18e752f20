"""Claims jobs and runs their handlers inside one worker process.

A heartbeat thread keeps the lease of the running job alive; the handler's
outcome decides the job's next state: succeeded, queued again after a
backoff (an exception), blocked (a missing resource), or nothing when it was
cancelled meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from app.jobs.context import Blocked, JobCancelled, JobContext
from app.jobs.queue import Budget, Job, Queue
from app.jobs.registry import get_kind
from app.media.storage import MediaStore

log = logging.getLogger(__name__)


class Runner:
    def __init__(self, queue: Queue, store: MediaStore, config: dict[str, Any], owner: str, *,
                 kinds: Iterable[str] | None = None, budget: Budget | None = None,
                 lease_seconds: float = 30) -> None:
        self.queue, self.store, self.config, self.owner = queue, store, config, owner
        self.kinds = list(kinds) if kinds else None
        self.budget = budget
        self.lease_seconds = lease_seconds
        self.current: Job | None = None
        self.stop = threading.Event()

    def run_one(self) -> bool:
        """Claim and run one job; False when nothing was runnable."""
        job = self.queue.claim(self.owner, kinds=self.kinds, lease_seconds=self.lease_seconds,
                               budget=self.budget)
        if job is None:
            return False
        self.current = job
        try:
            self.execute(job)
        finally:
            self.current = None
        return True

    def execute(self, job: Job) -> None:
        kind = get_kind(job.kind)
        if kind is None:
            self.queue.fail(job.id, self.owner, f"No handler for job kind {job.kind!r}.")
            return
        context = JobContext(job, self.owner, self.queue, self.store, self.config)
        try:
            result = kind.handler(context)
        except JobCancelled:
            log.info("job %s (%s) was cancelled while running", job.id, job.kind)
        except Blocked as blocked:
            log.info("job %s (%s) blocked: %s", job.id, job.kind, blocked.reason)
            self.queue.block(job.id, self.owner, blocked.reason, blocked.resource)
        except Exception as error:  # a handler's failure is the job's, never the worker's
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.queue.fail(job.id, self.owner, f"{type(error).__name__}: {error}")
        else:
            self.queue.succeed(job.id, self.owner, result)

    def loop(self, idle_seconds: float = 0.05, max_idle_seconds: float = 0.25) -> None:
        """Run jobs until ``stop`` is set; poll faster right after work was found."""
        heartbeat = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        heartbeat.start()
        wait = idle_seconds
        while not self.stop.is_set():
            if self.run_one():
                wait = idle_seconds
                continue
            self.stop.wait(wait)
            wait = min(max_idle_seconds, wait * 1.5)

    def _heartbeat(self) -> None:
        while not self.stop.wait(self.lease_seconds / 3):
            job = self.current
            if job is not None and not self.queue.heartbeat(job.id, self.owner,
                                                            self.lease_seconds):
                log.info("lost the lease of job %s", job.id)
