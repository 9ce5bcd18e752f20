"""What a handler receives: its job, the database, the media store, and ways to report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from app.db import Database
from app.jobs.queue import Job, Queue
from app.media.storage import MediaStore


class JobCancelled(Exception):
    """The job was cancelled (or its lease lost) while running; stop quietly."""


class Blocked(Exception):
    """A resource the job needs is missing; the job waits until it arrives."""

    def __init__(self, reason: str, resource: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.resource = resource


@dataclass
class JobContext:
    job: Job
    owner: str
    queue: Queue
    store: MediaStore
    config: dict[str, Any]

    @property
    def db(self) -> Database:
        return self.queue.db

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress; raises ``JobCancelled`` when the job was cancelled meanwhile."""
        if not self.queue.progress(self.job.id, self.owner, fraction, message):
            raise JobCancelled(f"job {self.job.id} is no longer ours")

    def block(self, reason: str, resource: str) -> NoReturn:
        raise Blocked(reason, resource)
