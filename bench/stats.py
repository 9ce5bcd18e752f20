"""Statistics page benchmark: the page's service call over the summaries vs a scan.

Times ``app.stats.library_stats`` (everything the statistics page computes) on
the cached synthetic library, for a few viewers, twice per run: reading the
summaries of migration 0006 and scanning the pictures (the queries the page
used before, kept as the reference). Both must give the same answer.

    .venv/bin/python -m bench.stats --size 1000000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# Run as a file, this folder would come first on sys.path and bench/queue.py would hide
# the standard library's queue module: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from app.db import Database
from app.queries.visibility import Viewer
from app.stats import library_stats
from bench.library import cached_library


def _viewers(db: Database) -> dict[str, tuple[Viewer, int | None]]:
    first, second = (row["id"] for row in db.all("SELECT id FROM users ORDER BY id LIMIT 2"))
    return {"owner": (Viewer(first), None), "other user": (Viewer(second), None),
            "anonymous": (Viewer(None, public_gallery=True), None),
            "mine only": (Viewer(second), second)}


def _median_seconds(fn: Any, reps: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(reps):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def run(size: int, reps: int, scan_reps: int, log: Any = print) -> dict[str, Any]:
    db = Database(cached_library(size, log=log))
    report: dict[str, Any] = {"size": size, "viewers": {}}
    for name, (viewer, owner) in _viewers(db).items():
        summed, new = _median_seconds(lambda v=viewer, o=owner: library_stats(db, v, o), reps)
        scanned, old = _median_seconds(
            lambda v=viewer, o=owner: library_stats(db, v, o, scan=True), scan_reps)
        report["viewers"][name] = {"summaries_s": round(summed, 4), "scan_s": round(scanned, 3),
                                   "pictures": new.pictures, "equal": new == old}
        log(f"  {name}: summaries {summed * 1000:.1f} ms, scan {scanned:.2f} s,"
            f" equal={new == old}")
    db.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=20, help="timed calls over the summaries")
    parser.add_argument("--scan-reps", type=int, default=1, help="timed calls of the scan")
    args = parser.parse_args()
    report = run(args.size, args.reps, args.scan_reps,
                 lambda line: print(line, file=sys.stderr))
    print(json.dumps(report, indent=2))
    if not all(row["equal"] for row in report["viewers"].values()):
        sys.exit("the summaries and the scan disagree")


if __name__ == "__main__":
    main()
