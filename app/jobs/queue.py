"""The job queue: rows with states in one SQLite table.

Every change of state happens in one ``BEGIN IMMEDIATE`` transaction that
also appends to ``job_events`` (which the web process relays to browsers), so
the event log and the jobs never disagree. Claims hand out a lease; workers
extend it with heartbeats; an expired lease puts the job back. Completion is
accepted only from the lease holder, so a job finishes exactly once even
when a presumed-dead worker wakes up late. Time comes from ``clock`` so tests
can drive backoff and leases without sleeping.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.db import Database, IntegrityError, Row

ACTIVE = ("queued", "running", "blocked")
FINISHED = ("succeeded", "failed", "cancelled")
BACKOFF_BASE = 2.0
BACKOFF_CAP = 600.0


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    timeout_seconds: float
    user_id: int | None
    image_id: int | None

    @classmethod
    def from_row(cls, row: Row) -> Job:
        return cls(row["id"], row["kind"], json.loads(row["payload"]), row["attempts"],
                   row["max_attempts"], row["timeout_seconds"], row["user_id"], row["image_id"])


@dataclass(frozen=True)
class Budget:
    """What the machine offers: CPU slots and GPU memory shared by all running jobs."""

    cpu_slots: int
    gpu_mb: int = 0


class Queue:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random) -> None:
        self.db = db
        self.clock = clock
        self.rng = rng

    # -- producing ----------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, Any] | None = None, *,
                dedupe_key: str | None = None, delay: float = 0.0, user_id: int | None = None,
                image_id: int | None = None, **limits: Any) -> int:
        """Queue a job; with a ``dedupe_key`` already pending, return that job's id.

        ``limits`` (priority, max_attempts, cpu_slots, gpu_mb, timeout_seconds)
        default to what the kind declared in the registry.
        """
        now = self.clock()
        spec = {**declared_limits(kind), **limits}
        values = (kind, json.dumps(payload or {}), dedupe_key, spec["priority"],
                  spec["max_attempts"], now + delay, spec["cpu_slots"], spec["gpu_mb"],
                  spec["timeout_seconds"], user_id, image_id, now, now)
        with self.db.transaction():
            try:
                job_id = self.db.execute(
                    "INSERT INTO jobs (kind, payload, dedupe_key, priority, max_attempts,"
                    " run_after, cpu_slots, gpu_mb, timeout_seconds, user_id, image_id,"
                    " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", values)
            except IntegrityError:
                existing = self.db.value(
                    "SELECT id FROM jobs WHERE dedupe_key = ? AND state IN (?, ?, ?)",
                    (dedupe_key, *ACTIVE))
                return int(existing)
            self._event(job_id, "job.state")
        return job_id

    # -- consuming ----------------------------------------------------------------

    def claim(self, owner: str, *, kinds: Iterable[str] | None = None,
              lease_seconds: float = 30, budget: Budget | None = None) -> Job | None:
        """Lease the most urgent runnable job that fits the limits, or None."""
        now = self.clock()
        with self.db.transaction():
            where, params = self._claimable(now, kinds, budget)
            row = self.db.one(
                "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?,"
                " attempts = attempts + 1, started_at = ?, updated_at = ?, progress = 0,"
                " message = '', error = NULL"
                f" WHERE id = (SELECT id FROM jobs WHERE {where}"
                "  ORDER BY priority DESC, id LIMIT 1) RETURNING *",
                [owner, now + lease_seconds, now, now, *params])
            if row is None:
                return None
            self._event(row["id"], "job.state", row)
        return Job.from_row(row)

    def _claimable(self, now: float, kinds: Iterable[str] | None,
                   budget: Budget | None) -> tuple[str, list[Any]]:
        clauses: list[str] = ["state = 'queued'", "run_after <= ?"]
        params: list[Any] = [now]
        blocked = self._kinds_at_limit()
        if blocked:
            clauses.append(f"kind NOT IN ({', '.join('?' for _ in blocked)})")
            params += blocked
        if kinds is not None:
            wanted = list(kinds)
            clauses.append(f"kind IN ({', '.join('?' for _ in wanted)})")
            params += wanted
        if budget is not None:
            used = self.db.one("SELECT total(cpu_slots) AS cpu, total(gpu_mb) AS gpu FROM jobs"
                               " WHERE state = 'running'")
            assert used is not None
            clauses += ["cpu_slots <= ?", "gpu_mb <= ?"]
            params += [budget.cpu_slots - used["cpu"], budget.gpu_mb - used["gpu"]]
        return " AND ".join(clauses), params

    def _kinds_at_limit(self) -> list[str]:
        controls = self.db.all("SELECT kind, concurrency, paused FROM job_kinds"
                               " WHERE paused = 1 OR concurrency IS NOT NULL")
        if not controls:
            return []
        running = {row["kind"]: row["n"] for row in self.db.all(
            "SELECT kind, count(*) AS n FROM jobs WHERE state = 'running' GROUP BY kind")}
        return [row["kind"] for row in controls
                if row["paused"] or running.get(row["kind"], 0) >= row["concurrency"]]

    def heartbeat(self, job_id: int, owner: str, lease_seconds: float = 30) -> bool:
        """Extend the lease; False when the job is no longer ours (cancelled, reaped)."""
        with self.db.transaction():
            self.db.execute("UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running'"
                            " AND lease_owner = ?", (self.clock() + lease_seconds, job_id, owner))
            return self.db.changes() == 1

    def progress(self, job_id: int, owner: str, fraction: float, message: str = "") -> bool:
        """Record progress (0–1) and a message; False when the job is no longer ours."""
        fraction = min(1.0, max(0.0, float(fraction)))
        with self.db.transaction():
            self.db.execute(
                "UPDATE jobs SET progress = ?, message = ?, updated_at = ?"
                " WHERE id = ? AND state = 'running' AND lease_owner = ?",
                (fraction, message[:500], self.clock(), job_id, owner))
            if self.db.changes() != 1:
                return False
            self._event(job_id, "job.progress")
        return True

    def succeed(self, job_id: int, owner: str, result: Any = None) -> bool:
        """Finish the job; refused (False) unless ``owner`` still holds its lease."""
        return self._finish(job_id, owner, "succeeded", json.dumps(result), None)

    def fail(self, job_id: int, owner: str, error: str) -> str | None:
        """Record a failure: back to the queue after a backoff, or ``failed`` for good."""
        now = self.clock()
        with self.db.transaction():
            row = self._held(job_id, owner)
            if row is None:
                return None
            if row["attempts"] < row["max_attempts"]:
                delay = self.backoff(row["attempts"])
                self.db.execute(
                    "UPDATE jobs SET state = 'queued', run_after = ?, error = ?,"
                    " lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
                    (now + delay, error[:4000], now, job_id))
                state = "queued"
            else:
                self._set_finished(job_id, "failed", None, error, now)
                state = "failed"
            self._event(job_id, "job.state")
        return state

    def backoff(self, attempts: int) -> float:
        """Exponential in the attempts so far, capped, with ±50 % jitter."""
        delay = min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_CAP)
        return delay * (0.5 + self.rng())

    def block(self, job_id: int, owner: str, reason: str, blocked_on: str) -> bool:
        """Park the job until one of ``blocked_on`` (comma-separated resources such as
        ``task:tagger``) is available; it then runs again and blocks anew on what is
        still missing."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE jobs SET state = 'blocked', message = ?, blocked_on = ?,"
                " lease_owner = NULL, lease_until = NULL, attempts = max(0, attempts - 1),"
                " updated_at = ?"
                " WHERE id = ? AND state = 'running' AND lease_owner = ?",
                (reason[:500], blocked_on, self.clock(), job_id, owner))
            if self.db.changes() != 1:
                return False
            self._event(job_id, "job.state")
        return True

    def _held(self, job_id: int, owner: str) -> Row | None:
        return self.db.one("SELECT * FROM jobs WHERE id = ? AND state = 'running'"
                           " AND lease_owner = ?", (job_id, owner))

    def _finish(self, job_id: int, owner: str, state: str, result: str | None,
                error: str | None) -> bool:
        with self.db.transaction():
            if self._held(job_id, owner) is None:
                return False
            self._set_finished(job_id, state, result, error, self.clock())
            self._event(job_id, "job.state")
        return True

    def _set_finished(self, job_id: int, state: str, result: str | None, error: str | None,
                      now: float) -> None:
        progress = ", progress = 1" if state == "succeeded" else ""
        self.db.execute(
            f"UPDATE jobs SET state = ?, result = ?, error = ?, lease_owner = NULL,"
            f" lease_until = NULL, finished_at = ?, updated_at = ?{progress} WHERE id = ?",
            (state, result, error, now, now, job_id))

    # -- operating ----------------------------------------------------------------

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued, blocked or running job (a running handler stops at its next report)."""
        now = self.clock()
        with self.db.transaction():
            self.db.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?,"
                " lease_until = NULL WHERE id = ? AND state IN (?, ?, ?)",
                (now, now, job_id, *ACTIVE))
            if self.db.changes() != 1:
                return False
            self._event(job_id, "job.state")
        return True

    def retry(self, job_id: int) -> bool:
        """Queue a failed or cancelled job again, with fresh attempts."""
        now = self.clock()
        with self.db.transaction():
            try:
                self.db.execute(
                    "UPDATE jobs SET state = 'queued', attempts = 0, run_after = ?, error = NULL,"
                    " finished_at = NULL, progress = 0, message = '', lease_owner = NULL,"
                    " updated_at = ? WHERE id = ? AND state IN ('failed', 'cancelled')",
                    (now, now, job_id))
            except IntegrityError:  # the same work is already pending again
                return False
            if self.db.changes() != 1:
                return False
            self._event(job_id, "job.state")
        return True

    def resume_blocked(self, resource: str) -> int:
        """A missing resource arrived: put every job waiting for it back in the queue."""
        now = self.clock()
        with self.db.transaction():
            ids = [row["id"] for row in self.db.all(
                "SELECT id FROM jobs WHERE state = 'blocked'"
                " AND instr(',' || blocked_on || ',', ',' || ? || ',') > 0", (resource,))]
            for job_id in ids:
                self.db.execute(
                    "UPDATE jobs SET state = 'queued', run_after = ?, message = '',"
                    " blocked_on = NULL, updated_at = ? WHERE id = ?", (now, now, job_id))
                self._event(job_id, "job.state")
        return len(ids)

    def blocked_resources(self) -> list[str]:
        found: set[str] = set()
        for row in self.db.all("SELECT DISTINCT blocked_on FROM jobs WHERE state = 'blocked'"):
            found.update(filter(None, (row["blocked_on"] or "").split(",")))
        return sorted(found)

    def reap_expired(self) -> int:
        """Jobs whose lease ran out (their worker died) go back to the queue, or fail."""
        now = self.clock()
        with self.db.transaction():
            rows = self.db.all("SELECT id, lease_owner FROM jobs WHERE state = 'running'"
                               " AND lease_until < ?", (now,))
        for row in rows:
            self.fail(row["id"], row["lease_owner"],
                      "The worker stopped answering (lease expired).")
        return len(rows)

    def release(self, owner: str, reason: str, count_attempt: bool = True) -> int:
        """Give back every job ``owner`` holds: after a crash the attempt counts (with
        backoff); at a clean shutdown the job simply returns to the queue."""
        with self.db.transaction():
            ids = [row["id"] for row in self.db.all(
                "SELECT id FROM jobs WHERE state = 'running' AND lease_owner = ?", (owner,))]
            if not count_attempt:
                now = self.clock()
                for job_id in ids:
                    self.db.execute(
                        "UPDATE jobs SET state = 'queued', attempts = max(0, attempts - 1),"
                        " lease_owner = NULL, lease_until = NULL, run_after = ?, updated_at = ?,"
                        " message = ? WHERE id = ?", (now, now, reason[:500], job_id))
                    self._event(job_id, "job.state")
                return len(ids)
        for job_id in ids:
            self.fail(job_id, owner, reason)
        return len(ids)

    def set_kind(self, kind: str, *, concurrency: int | None = None,
                 paused: bool | None = None, clear_limit: bool = False) -> None:
        """Change a kind's concurrency limit or pause it; takes effect at the next claim."""
        with self.db.transaction():
            self.db.execute("INSERT INTO job_kinds (kind) VALUES (?) ON CONFLICT DO NOTHING",
                            (kind,))
            if concurrency is not None or clear_limit:
                self.db.execute("UPDATE job_kinds SET concurrency = ? WHERE kind = ?",
                                (None if clear_limit else concurrency, kind))
            if paused is not None:
                self.db.execute("UPDATE job_kinds SET paused = ? WHERE kind = ?",
                                (int(paused), kind))

    def prune_events(self, older_than_seconds: float) -> int:
        with self.db.transaction():
            self.db.execute("DELETE FROM job_events WHERE created_at < ?",
                            (self.clock() - older_than_seconds,))
            return self.db.changes()

    # -- events -------------------------------------------------------------------

    def _event(self, job_id: int, event: str, row: Row | None = None) -> None:
        if row is None:
            row = self.db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
            assert row is not None
        self.db.execute(
            "INSERT INTO job_events (job_id, event, user_id, image_id, data, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, event, row["user_id"], row["image_id"], json.dumps(event_data(row)),
             self.clock()))

    def image_updated(self, image_id: int, user_id: int | None, data: dict[str, Any]) -> None:
        """Tell browsers showing this picture that its analysis changed."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO job_events (job_id, event, user_id, image_id, data, created_at)"
                " VALUES (NULL, 'image.updated', ?, ?, ?, ?)",
                (user_id, image_id, json.dumps({"image_id": image_id, **data}), self.clock()))


DEFAULT_LIMITS = {"priority": 0, "max_attempts": 3, "cpu_slots": 1, "gpu_mb": 0,
                  "timeout_seconds": 600.0}


def declared_limits(kind: str) -> dict[str, Any]:
    """The registry's declaration for ``kind``, or the defaults for unknown kinds."""
    from app.jobs.registry import get_kind  # the registry imports handlers; keep it lazy

    declared = get_kind(kind)
    if declared is None:
        return dict(DEFAULT_LIMITS)
    return {name: getattr(declared, name) for name in DEFAULT_LIMITS}


def event_data(row: Row) -> dict[str, Any]:
    """What browsers are told about a job (never its payload)."""
    return {"id": row["id"], "kind": row["kind"], "state": row["state"],
            "progress": row["progress"], "message": row["message"], "error": row["error"],
            "attempts": row["attempts"], "max_attempts": row["max_attempts"],
            "image_id": row["image_id"], "blocked_on": row["blocked_on"]}
