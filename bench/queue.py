"""Queue throughput: no-op jobs through the real worker against a bare loop.

    .venv/bin/python bench/queue.py [--jobs 5000]

Baseline: a bare claim-and-complete loop in this process, two transactions
per job with the minimal SQL (``UPDATE ... RETURNING`` to claim, ``UPDATE``
to finish), on the same kind of database. Full path: the same number of
``noop`` jobs drained by a real ``salon worker --concurrency 1`` process
(supervisor + one child: leases, events, registry, handler dispatch),
timed from the first job's start to the last job's finish as recorded in
the jobs table. Event latency to a Socket.IO client is ``bench/events.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, this folder would come first on sys.path and bench/queue.py would hide
# the standard library's queue module: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from app.db import Database
from app.jobs.queue import Queue


def fresh_db(path: Path) -> Database:
    database = Database(path)
    database.migrate()
    return database


def fill(database: Database, count: int) -> None:
    queue = Queue(database)
    with database.transaction():
        for _ in range(count):
            queue.enqueue("noop", max_attempts=1)


def bare_loop(database: Database, count: int) -> float:
    """Jobs per second of the minimal claim + complete transactions."""
    conn = database.conn
    start = time.perf_counter()
    for _ in range(count):
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "UPDATE jobs SET state = 'running', lease_owner = 'bare', lease_until = ?,"
            " attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE state = 'queued'"
            " ORDER BY priority DESC, id LIMIT 1) RETURNING id", (time.time() + 30,)).fetchone()
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE jobs SET state = 'succeeded', finished_at = ? WHERE id = ?",
                     (time.time(), row["id"]))
        conn.execute("COMMIT")
    return count / (time.perf_counter() - start)


def worker_rate(root: Path, count: int) -> float:
    """Jobs per second of a real worker, from the database's own timestamps."""
    env = {**os.environ, "SALON_INSTANCE": str(root), "SALON_UPLOADS": str(root / "uploads"),
           "SALON_LOG_LEVEL": "WARNING"}
    database = fresh_db(root / "salon.db")
    fill(database, count)
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--concurrency", "1"],
                              env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        while database.value("SELECT count(*) FROM jobs WHERE kind = 'noop'"
                             " AND state = 'succeeded'") < count:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    span = database.one("SELECT min(started_at) AS first, max(finished_at) AS last FROM jobs"
                        " WHERE kind = 'noop'")
    return count / (span["last"] - span["first"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bare_db = fresh_db(root / "bare.db")
        fill(bare_db, args.jobs)
        bare = bare_loop(bare_db, args.jobs)
        full = worker_rate(root / "worker", args.jobs)
    result = {"jobs": args.jobs, "bare_jobs_per_s": round(bare), "worker_jobs_per_s": round(full),
              "worker_over_bare": round(full / bare, 2)}
    print(json.dumps(result, indent=2))
    verdict = "meets" if full >= 2000 else "misses"
    print(f"one worker: {full:.0f} jobs/s ({verdict} the 2,000 jobs/s target); "
          f"{full / bare:.0%} of the bare loop")


if __name__ == "__main__":
    main()
