"""Real worker processes over a real database in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.config import load_config
from app.db import Database
from app.jobs.queue import Queue
from app.jobs.registry import load_handlers
from app.media.storage import MediaStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SALON_INSTANCE": str(tmp_path / "instance"),
            "SALON_UPLOADS": str(tmp_path / "uploads"), "SALON_JOB_MODULES": "tests.jobs.plugin",
            "SALON_JOB_LEASE_SECONDS": "3", "SALON_WORKER_GRACE_SECONDS": "10",
            "SALON_LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO)}


@pytest.fixture
def queue(worker_env: dict[str, str]) -> Iterator[Queue]:
    config = load_config(environ=worker_env)
    database = Database(config["DATABASE"])
    database.migrate()
    MediaStore(config["UPLOADS"]).ensure()
    load_handlers(["tests.jobs.plugin"])
    yield Queue(database)
    database.close()


@pytest.fixture
def spawn(worker_env: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen]]:
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", *args], env=worker_env, cwd=REPO)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def results(queue: Queue) -> list[dict]:
    exists = queue.db.value("SELECT count(*) FROM sqlite_schema WHERE name = 'test_results'")
    return queue.db.all("SELECT * FROM test_results ORDER BY job_id") if exists else []


def job(queue: Queue, job_id: int) -> dict:
    row = queue.db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
    assert row is not None
    return row
