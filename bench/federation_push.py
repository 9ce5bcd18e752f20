"""Push latency: how soon a picture uploaded on the origin is on its follower.

Two real instances on loopback, each with its real web process and worker. The
follower follows the origin (approved automatically). For each sample a public
picture is uploaded on the origin through the API and the clock runs until the
follower's database has it:

* push: nobody does anything; the origin's worker notices its feed moved, notifies
  the follower, whose worker syncs;
* baseline, in the same run: the same upload followed at once by ``salon peers
  sync`` on the follower (what "Sync now" does), i.e. the fastest a person could
  get it without push. Without either, the follower waits for its timer
  (``SALON_FEDERATION_SYNC_MINUTES``, 30 by default).

    .venv/bin/python bench/federation_push.py --samples 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, this folder would come first on sys.path: put the repository there.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx

from tests.conftest import PASSWORD, jpeg_bytes
from tests.federation.instances import Instance

SETTLE = 12.0  # seconds between samples: longer than the follower's 10 s sync spacing


def _upload(origin: Instance, key: str, title: str, shade: int) -> None:
    picture = jpeg_bytes((320, 240), (shade, 90, 200))
    response = httpx.post(origin.url + "/api/v1/images", timeout=30,
                          headers={"Authorization": f"Bearer {key}"},
                          files={"file": (f"{title}.jpg", picture)},
                          data={"visibility": "public", "title": title})
    response.raise_for_status()


def _arrived(follower: Instance, title: str) -> bool:
    return bool(follower.db.value("SELECT count(*) FROM images WHERE title = ?", (title,)))


def _wait(follower: Instance, title: str, started: float, limit: float = 120.0) -> float:
    while not _arrived(follower, title):
        if time.monotonic() - started > limit:
            raise RuntimeError(f"{title} did not arrive in {limit:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def run(samples: int, root: Path) -> dict[str, object]:
    origin, follower = Instance(root, "origin").start(), Instance(root, "follower").start()
    try:
        with origin.db.transaction():
            origin.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES"
                              " ('federation.auto_approve', 'true')")
        follower.cli("peers", "add", origin.url)
        follower.cli("peers", "sync")
        origin.cli("create-user", "--username", "bench", "--password", PASSWORD)
        key = origin.api_key("bench")
        manual = []
        for index in range(samples):  # baseline first, before the workers run
            title = f"manual-{index}"
            started = time.monotonic()
            _upload(origin, key, title, index * 20)
            follower.cli("peers", "sync")
            manual.append(_wait(follower, title, started))
        origin.start_worker()
        follower.start_worker()
        time.sleep(SETTLE)
        pushed = []
        for index in range(samples):
            title = f"pushed-{index}"
            started = time.monotonic()
            _upload(origin, key, title, 120 + index * 20)
            pushed.append(_wait(follower, title, started))
            time.sleep(SETTLE)
    finally:
        origin.stop()
        follower.stop()
    push_median, manual_median = statistics.median(pushed), statistics.median(manual)
    return {"samples": samples, "push_s": [round(x, 2) for x in pushed],
            "sync_now_s": [round(x, 2) for x in manual], "push_median_s": round(push_median, 2),
            "sync_now_median_s": round(manual_median, 2),
            "ratio": round(push_median / manual_median, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="salon-bench-push-") as folder:
        print(json.dumps(run(args.samples, Path(folder)), indent=2))


if __name__ == "__main__":
    main()
