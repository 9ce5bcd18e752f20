"""The queue's state machine, driven by a controllable clock (no sleeping)."""

from __future__ import annotations

import json

import pytest

from app.db import Database
from app.jobs.queue import Budget, Queue


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(db: Database, clock: Clock) -> Queue:
    return Queue(db, clock=clock, rng=lambda: 0.5)  # jitter factor exactly 1.0


def state(queue: Queue, job_id: int) -> dict:
    row = queue.db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
    assert row is not None
    return row


def test_enqueue_deduplicates_pending_work(queue: Queue) -> None:
    first = queue.enqueue("work", dedupe_key="same")
    assert queue.enqueue("work", dedupe_key="same") == first
    job = queue.claim("w1")
    assert job is not None and queue.succeed(job.id, "w1")
    assert queue.enqueue("work", dedupe_key="same") != first  # done: new work is new


def test_claim_takes_priority_then_age_and_respects_run_after(queue: Queue, clock: Clock) -> None:
    low = queue.enqueue("work")
    later = queue.enqueue("work", priority=5, delay=10)
    high = queue.enqueue("work", priority=5)
    assert [queue.claim("w").id, queue.claim("w").id] == [high, low]
    assert queue.claim("w") is None
    clock.now += 10
    assert queue.claim("w").id == later


def test_expired_lease_puts_the_job_back(queue: Queue, clock: Clock) -> None:
    job_id = queue.enqueue("work")
    queue.claim("dead-worker", lease_seconds=30)
    clock.now += 29
    assert queue.reap_expired() == 0
    clock.now += 2
    assert queue.reap_expired() == 1
    row = state(queue, job_id)
    assert row["state"] == "queued" and "lease expired" in row["error"]
    clock.now += 10
    again = queue.claim("w2")
    assert again.id == job_id and again.attempts == 2


def test_heartbeat_keeps_the_lease(queue: Queue, clock: Clock) -> None:
    job_id = queue.enqueue("work")
    queue.claim("w1", lease_seconds=30)
    for _ in range(5):
        clock.now += 20
        assert queue.heartbeat(job_id, "w1", 30)
        assert queue.reap_expired() == 0


def test_only_the_lease_holder_completes(queue: Queue, clock: Clock) -> None:
    job_id = queue.enqueue("work")
    queue.claim("slow", lease_seconds=5)
    clock.now += 6
    queue.reap_expired()
    clock.now += 10
    assert queue.claim("fast").id == job_id
    assert not queue.succeed(job_id, "slow")  # woke up late: refused
    assert not queue.heartbeat(job_id, "slow")
    assert queue.succeed(job_id, "fast", {"ok": 1})
    assert not queue.succeed(job_id, "fast")  # and only once
    row = state(queue, job_id)
    assert row["state"] == "succeeded" and json.loads(row["result"]) == {"ok": 1}


def test_failures_back_off_exponentially_then_fail(queue: Queue, clock: Clock) -> None:
    job_id = queue.enqueue("work", max_attempts=4)
    delays = []
    for _ in range(3):
        queue.claim("w")
        assert queue.fail(job_id, "w", "boom") == "queued"
        delays.append(state(queue, job_id)["run_after"] - clock.now)
        assert queue.claim("w") is None  # not before the backoff
        clock.now += delays[-1]
    assert delays == [2.0, 4.0, 8.0]
    queue.claim("w")
    assert queue.fail(job_id, "w", "boom for good") == "failed"
    row = state(queue, job_id)
    assert row["state"] == "failed" and row["error"] == "boom for good" and row["attempts"] == 4


def test_backoff_has_jitter_and_a_cap(db: Database) -> None:
    low = Queue(db, rng=lambda: 0.0)
    high = Queue(db, rng=lambda: 0.999)
    assert low.backoff(3) == pytest.approx(4.0)
    assert high.backoff(3) == pytest.approx(8 * 1.499)
    assert low.backoff(40) == pytest.approx(300.0)  # half of the 600 s cap


def test_cancel_queued_and_running(queue: Queue) -> None:
    waiting = queue.enqueue("work")
    running = queue.enqueue("work", priority=1)
    queue.claim("w")
    assert queue.cancel(waiting) and queue.cancel(running)
    assert not queue.progress(running, "w", 0.5)  # the handler learns at its next report
    assert not queue.succeed(running, "w")
    assert state(queue, running)["state"] == "cancelled"
    assert not queue.cancel(running)
    assert queue.retry(running)
    assert state(queue, running)["state"] == "queued"


def test_blocked_resumes_when_the_resource_arrives(queue: Queue) -> None:
    job_id = queue.enqueue("analyze")
    queue.claim("w")
    assert queue.block(job_id, "w", "The model wd14 is not installed.", "model:wd14")
    row = state(queue, job_id)
    assert (row["state"], row["message"], row["attempts"]) == \
        ("blocked", "The model wd14 is not installed.", 0)
    assert queue.claim("w") is None
    assert queue.blocked_resources() == ["model:wd14"]
    assert queue.resume_blocked("model:wd14") == 1
    assert queue.claim("w").id == job_id


def test_paused_kinds_and_concurrency_limits_apply_at_run_time(queue: Queue) -> None:
    a1, a2 = queue.enqueue("analyze"), queue.enqueue("analyze")
    n1 = queue.enqueue("work")
    queue.set_kind("analyze", concurrency=1)
    assert queue.claim("w").id == a1
    assert queue.claim("w").id == n1  # analyze is at its limit
    queue.set_kind("analyze", paused=True)
    queue.succeed(a1, "w")
    assert queue.claim("w") is None
    queue.set_kind("analyze", paused=False, clear_limit=True)
    assert queue.claim("w").id == a2


def test_resource_budget_only_starts_what_fits(queue: Queue) -> None:
    big = queue.enqueue("work", gpu_mb=6000)
    small = queue.enqueue("work", gpu_mb=3000)
    budget = Budget(cpu_slots=4, gpu_mb=8000)
    assert queue.claim("w", budget=budget).id == big
    assert queue.claim("w", budget=budget) is None  # 3000 MB more would not fit
    queue.succeed(big, "w")
    assert queue.claim("w", budget=budget).id == small
    cpu_heavy = queue.enqueue("work", cpu_slots=3)
    assert queue.claim("w", budget=Budget(cpu_slots=3)) is None  # 1 slot in use
    queue.succeed(small, "w")
    assert queue.claim("w", budget=Budget(cpu_slots=3)).id == cpu_heavy


def test_every_change_is_an_event(queue: Queue) -> None:
    job_id = queue.enqueue("work", user_id=None)
    queue.claim("w")
    queue.progress(job_id, "w", 0.5, "half")
    queue.succeed(job_id, "w")
    events = queue.db.all("SELECT event, data FROM job_events ORDER BY id")
    assert [e["event"] for e in events] == ["job.state", "job.state", "job.progress", "job.state"]
    states = [json.loads(e["data"])["state"] for e in events]
    assert states == ["queued", "running", "running", "succeeded"]
    assert json.loads(events[2]["data"])["message"] == "half"


def test_release_at_shutdown_does_not_count_an_attempt(queue: Queue) -> None:
    job_id = queue.enqueue("work")
    queue.claim("w")
    assert queue.release("w", "shutting down", count_attempt=False) == 1
    row = state(queue, job_id)
    assert (row["state"], row["attempts"]) == ("queued", 0)
    assert queue.claim("w2").id == job_id
