"""Real worker processes: racing, crashes, kill -9, timeouts, shutdown, blocked jobs."""

from __future__ import annotations

import os
import signal
import urllib.request

import psutil
import pytest

from app.jobs.queue import Queue
from tests.jobs.conftest import job, results, wait_for

pytestmark = pytest.mark.slow


def test_four_racing_workers_complete_each_job_exactly_once(queue: Queue, spawn) -> None:
    ids = [queue.enqueue("test.record", {"sleep": 0.01}) for _ in range(400)]
    workers = [spawn("app.jobs.child", "--owner", f"racer-{n}") for n in range(4)]
    wait_for(lambda: queue.db.value("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
             == len(ids), timeout=120, what="all jobs to succeed")
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:  # a worker still starting up may die of the signal itself
        assert worker.wait(timeout=30) in (0, -signal.SIGTERM)
    done = results(queue)
    assert sorted(row["job_id"] for row in done) == ids  # each exactly once
    assert len({row["pid"] for row in done}) > 1  # and they really raced
    assert queue.db.value("SELECT max(attempts) FROM jobs") == 1


def _child_of(supervisor) -> psutil.Process:
    wait_for(lambda: psutil.Process(supervisor.pid).children(), what="a worker process")
    return psutil.Process(supervisor.pid).children()[0]


def test_kill_9_of_a_worker_process_mid_job(queue: Queue, spawn) -> None:
    job_id = queue.enqueue("test.slow", {"seconds": 3})
    supervisor = spawn("app.cli", "worker", "--concurrency", "1")
    wait_for(lambda: job(queue, job_id)["progress"] >= 0.2, what="the job to be half-way")
    victim = _child_of(supervisor)
    victim.kill()  # SIGKILL: no clean-up of any kind
    wait_for(lambda: job(queue, job_id)["state"] == "succeeded", timeout=60,
             what="the retried job to succeed")
    assert [row["job_id"] for row in results(queue)] == [job_id]  # no duplicate result
    assert job(queue, job_id)["attempts"] == 2
    assert victim.pid not in [child.pid for child in psutil.Process(supervisor.pid).children()]
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0


def test_kill_9_of_the_whole_worker_then_a_new_one_recovers(queue: Queue, spawn) -> None:
    job_id = queue.enqueue("test.slow", {"seconds": 2})
    first = spawn("app.cli", "worker", "--concurrency", "1")
    wait_for(lambda: job(queue, job_id)["progress"] >= 0.2, what="the job to start")
    for process in [*psutil.Process(first.pid).children(), psutil.Process(first.pid)]:
        process.kill()
    first.wait(timeout=10)
    assert job(queue, job_id)["state"] == "running"  # orphaned, lease still held
    second = spawn("app.cli", "worker", "--concurrency", "1")
    wait_for(lambda: job(queue, job_id)["state"] == "succeeded", timeout=60,
             what="the reaped job to succeed")
    assert [row["job_id"] for row in results(queue)] == [job_id]
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0


def test_a_job_past_its_timeout_is_killed_with_its_process(queue: Queue, spawn) -> None:
    hung = queue.enqueue("test.hang")
    after = queue.enqueue("test.record")
    supervisor = spawn("app.cli", "worker", "--concurrency", "1")
    wait_for(lambda: job(queue, hung)["state"] == "failed", timeout=30, what="the timeout")
    assert "Timed out after 2 s" in job(queue, hung)["error"]
    wait_for(lambda: job(queue, after)["state"] == "succeeded", what="the next job")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0


def test_sigterm_lets_the_running_job_finish(queue: Queue, spawn) -> None:
    running = queue.enqueue("test.slow", {"seconds": 2})
    waiting = queue.enqueue("test.record", delay=0)
    queue.set_kind("test.record", paused=True)
    supervisor = spawn("app.cli", "worker", "--concurrency", "1")
    wait_for(lambda: job(queue, running)["progress"] >= 0.1, what="the job to start")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    assert job(queue, running)["state"] == "succeeded"
    assert job(queue, waiting)["state"] == "queued"  # never claimed, still there


def test_blocked_job_resumes_by_itself_when_the_resource_appears(queue: Queue, spawn,
                                                                 tmp_path) -> None:
    needed = tmp_path / "model.onnx"
    job_id = queue.enqueue("test.needs_file", {"path": str(needed)})
    supervisor = spawn("app.cli", "worker", "--concurrency", "1")
    wait_for(lambda: job(queue, job_id)["state"] == "blocked", what="the job to block")
    assert job(queue, job_id)["message"] == f"Waiting for {needed}."
    needed.write_bytes(b"weights")
    wait_for(lambda: job(queue, job_id)["state"] == "succeeded", timeout=30,
             what="the job to resume")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0


def test_a_crashing_handler_does_not_take_the_worker_down(queue: Queue, spawn) -> None:
    missing = queue.enqueue("no.such.kind", max_attempts=1)
    ok = queue.enqueue("test.record")
    supervisor = spawn("app.cli", "worker", "--concurrency", "1")
    wait_for(lambda: job(queue, ok)["state"] == "succeeded", what="the good job")
    assert job(queue, missing)["state"] == "failed"
    assert "No handler" in job(queue, missing)["error"]
    assert os.kill(supervisor.pid, 0) is None  # still alive
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0


def _workers(pid: int) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(pid).children():
        try:
            if "worker" in child.cmdline():
                found.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return found


def test_salon_run_restarts_a_dead_worker(worker_env, spawn, queue: Queue) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        worker_env["SALON_PORT"] = str(sock.getsockname()[1])
    run = spawn("app.cli", "run")
    wait_for(lambda: _workers(run.pid), what="the worker to start")
    worker = _workers(run.pid)[0]
    worker.kill()
    wait_for(lambda: [p for p in _workers(run.pid) if p.pid != worker.pid], timeout=20,
             what="salon run to restart its worker")
    job_id = queue.enqueue("test.record")
    wait_for(lambda: job(queue, job_id)["state"] == "succeeded", what="the new worker to work")
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=40)


def _web_processes(pid: int, job_worker: psutil.Process) -> list[psutil.Process]:
    """gunicorn's web processes under ``salon run``: every live child but the job worker."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if child.pid != job_worker.pid and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_salon_run_keeps_its_worker_when_a_web_process_restarts(worker_env, spawn,
                                                                queue: Queue) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        worker_env["SALON_PORT"] = str(sock.getsockname()[1])
    run = spawn("app.cli", "run")
    wait_for(lambda: _workers(run.pid), what="the worker to start")
    job_worker = _workers(run.pid)[0]
    # Only a web process that answers has its own signal handlers: until then it still
    # runs gunicorn's master handler, inherited over fork, which swallows a SIGTERM.
    port = int(worker_env["SALON_PORT"])
    wait_for(lambda: _serving(port), timeout=60, what="gunicorn's web process to serve")
    web = _web_processes(run.pid, job_worker)[0]
    web.terminate()  # gunicorn replaces it; the job worker must not notice
    wait_for(lambda: [p for p in _web_processes(run.pid, job_worker) if p.pid != web.pid],
             timeout=60, what="a new web process")
    wait_for(lambda: _serving(port), timeout=60, what="the new web process to serve")
    assert job_worker.is_running() and job_worker.status() != psutil.STATUS_ZOMBIE
    job_id = queue.enqueue("test.record")
    wait_for(lambda: job(queue, job_id)["state"] == "succeeded", timeout=60,
             what="the same worker to work")
    assert _workers(run.pid) == [job_worker]
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=40)
