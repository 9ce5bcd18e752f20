"""Federation benchmark: first sync, incremental sync, proxy cache hits, on loopback.

Starts two real instances (``salon web`` under gunicorn), writes N public
pictures with tags, generation metadata and a real WebP thumbnail into the
origin, has the follower follow it (the origin approves automatically), then
times, in this process against the real web processes:

* the first sync of all N pictures (signed pages of 500, each stored with the
  cursor in one transaction, thumbnails prefetched through the proxy), and as
  the baseline the same pages only fetched and checked, not stored;
* an incremental sync after 100 pictures changed on the origin (tags);
* a proxy cache hit (``/proxy/<peer>/<id>/thumb``, a thumbnail the sync
  prefetched) against a static file served by the same web process.

    .venv/bin/python bench/federation.py --pictures 10000
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a file, this folder would come first on sys.path and bench/queue.py would hide
# the standard library's queue module: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx
from PIL import Image

from app import create_app, tagging
from app.db import Database
from app.federation.remote import parse_page
from app.federation.sync import PAGE_LIMIT, feed_fetcher, sync_peer, thumbnail_prefetcher
from tests.federation.helpers import add_pictures, add_user
from tests.federation.instances import Instance


def _thumbnails(origin: Instance, db: Database) -> None:
    """A real 256×192 WebP thumbnail for every picture (the proxy checks what it caches)."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((256, 192)).convert("RGB").save(buffer, "WEBP")
    derived = Path(origin.env["SALON_UPLOADS"]) / "derived"
    for row in db.all("SELECT sha256 FROM images"):
        folder = derived / row["sha256"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "thumb.webp").write_bytes(buffer.getvalue())


def _follower_app(follower: Instance) -> Any:
    keys = ("INSTANCE", "DATABASE", "UPLOADS", "BASE_URL", "INSTANCE_NAME",
            "FEDERATION_ALLOW_PRIVATE")
    return create_app({key: follower.env[f"SALON_{key}"] for key in keys}
                      | {"FEDERATION_ALLOW_PRIVATE": True, "LOG_LEVEL": "WARNING"})


def _fetch_only(app: Any, peer: dict[str, Any]) -> tuple[float, int]:
    """The baseline: every page fetched (signed) and checked, nothing stored."""
    fetch = feed_fetcher(app.config)
    cursor, changes, started = 0, 0, time.perf_counter()
    while True:
        page = parse_page(fetch(peer, cursor, PAGE_LIMIT), cursor=cursor, limit=PAGE_LIMIT,
                          base_url=peer["base_url"])
        changes += len(page.changes)
        cursor = page.next_after
        if not page.more:
            return time.perf_counter() - started, changes


def _timed_sync(app: Any, peer_id: int) -> tuple[float, Any]:
    db = app.extensions["salon.db"]
    started = time.perf_counter()
    result = sync_peer(db, app.config, peer_id, prefetch=thumbnail_prefetcher(db, app.config))
    return time.perf_counter() - started, result


def _p50_ms(client: httpx.Client, path: str, reps: int) -> float:
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(samples) * 1000


def _change_origin(db: Database, count: int) -> None:
    for image_id in [row["id"] for row in db.all(
            "SELECT id FROM images ORDER BY id DESC LIMIT ?", (count,))]:
        tagging.edit_tags(db, image_id, ["changed"], [])


def run(pictures: int, reps: int, root: Path, log: Any) -> dict[str, Any]:
    origin = Instance(root, "origin").start()
    follower = Instance(root, "follower").start()
    try:
        return _measure(origin, follower, pictures, reps, log)
    finally:
        origin.stop()
        follower.stop()


def _measure(origin: Instance, follower: Instance, pictures: int, reps: int,
             log: Any) -> dict[str, Any]:
    odb = origin.db
    add_pictures(odb, add_user(odb, "bench"), pictures, tags=("bench", "sea", "boat"))
    _thumbnails(origin, odb)
    with odb.transaction():
        odb.execute("INSERT OR REPLACE INTO settings (key, value)"
                    " VALUES ('federation.auto_approve', 'true')")
    follower.cli("peers", "add", origin.url)
    peer = follower.peer(origin.url)
    app = _follower_app(follower)
    fetch_s, fetched = _fetch_only(app, {**peer, "following": "approved", "blocked": 0})
    log(f"fetch only: {fetched} changes in {fetch_s:.2f} s")
    first_s, first = _timed_sync(app, peer["id"])
    log(f"first sync: {first.upserts} pictures, {first.pages} pages,"
        f" {first.prefetched} thumbnails in {first_s:.2f} s")
    _change_origin(odb, 100)
    incremental_s, incremental = _timed_sync(app, peer["id"])
    log(f"incremental: {incremental.upserts} changes in {incremental_s * 1000:.0f} ms")
    proxy_ms, static_ms = _proxy_hits(follower, peer["id"], reps)
    log(f"proxy cache hit p50 {proxy_ms:.2f} ms, static file p50 {static_ms:.2f} ms")
    return {"pictures": pictures, "fetch_only_s": round(fetch_s, 2),
            "first_sync_s": round(first_s, 2), "first_sync_pages": first.pages,
            "first_sync_upserts": first.upserts, "thumbnails_prefetched": first.prefetched,
            "first_sync_over_fetch": round(first_s / fetch_s, 2),
            "incremental_changes": incremental.upserts,
            "incremental_s": round(incremental_s, 3),
            "proxy_hit_p50_ms": round(proxy_ms, 2), "static_p50_ms": round(static_ms, 2),
            "proxy_over_static": round(proxy_ms / static_ms, 2)}


def _proxy_hits(follower: Instance, peer_id: int, reps: int) -> tuple[float, float]:
    remote_id = follower.db.value("SELECT remote_id FROM proxy_cache WHERE peer_id = ?"
                                  " AND variant = 'thumb' LIMIT 1", (peer_id,))
    headers = {"Authorization": f"Bearer {follower.api_key('admin')}"}
    with httpx.Client(base_url=follower.url, headers=headers, timeout=30) as client:
        proxy_path = f"/proxy/{peer_id}/{remote_id}/thumb"
        static_path = "/static/css/salon.css"
        for path in (proxy_path, static_path):  # warm up
            _p50_ms(client, path, 10)
        return _p50_ms(client, proxy_path, reps), _p50_ms(client, static_path, reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pictures", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=300, help="requests per p50")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="salon-bench-federation-") as folder:
        report = run(args.pictures, args.reps, Path(folder),
                     lambda line: print(line, file=sys.stderr))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
