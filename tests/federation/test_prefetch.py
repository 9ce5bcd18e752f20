"""The background thumbnail prefetch (``federation.prefetch``) between real Salon processes:
after a sync that added pictures, a worker fetches every missing thumbnail in bounded runs
that resume where they stopped, logs failures without failing, and stops before the proxy
cache would evict what it has just fetched."""

from __future__ import annotations

import io
import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.media.storage import MediaStore
from tests.federation.helpers import add_pictures, add_user
from tests.federation.instances import Instance

pytestmark = pytest.mark.timeout(240)

PICTURES = 300
INLINE = 120  # what the sync prefetches itself (sync.PREFETCH_PER_RUN)
BATCH = 40


def _noise_thumbnail(side: int) -> bytes:
    """A WebP that does not compress: its size is about 3 × side² bytes."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        buffer, "WEBP", lossless=True)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An origin with PICTURES public pictures, each with a ~30 KB thumbnail except the
    newest (its media endpoint answers 404)."""
    root = tmp_path_factory.mktemp("prefetch")
    instance = Instance(root, "origin").start()
    try:
        owner = add_user(instance.db, "dora")
        ids = add_pictures(instance.db, owner, PICTURES)
        with instance.db.transaction():
            instance.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES"
                                " ('federation.auto_approve', 'true')")
        store = MediaStore(Path(instance.env["SALON_UPLOADS"]))
        thumb = _noise_thumbnail(100)
        for image_id in ids[:-1]:
            sha = instance.db.value("SELECT sha256 FROM images WHERE id = ?", (image_id,))
            path = store.derived_path(sha, "thumb.webp")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(thumb)
        yield {"instance": instance, "root": root, "ids": ids, "thumb_size": len(thumb)}
    finally:
        instance.stop()


def _follow_and_sync(origin: Instance, follower: Instance) -> int:
    assert "following: approved" in follower.cli("peers", "add", origin.url).stdout
    peer_id = int(follower.peer(origin.url)["id"])
    synced = follower.cli("peers", "sync", str(peer_id))
    assert f"{PICTURES} new or changed" in synced.stdout, synced.stdout
    return peer_id


def _thumbs(instance: Instance, peer_id: int) -> int:
    return int(instance.db.value("SELECT count(*) FROM proxy_cache WHERE peer_id = ?"
                                 " AND variant = 'thumb'", (peer_id,)))


def _prefetch_jobs(instance: Instance) -> list[dict[str, Any]]:
    return [{**row, "payload": json.loads(row["payload"]),
             "result": json.loads(row["result"]) if row["result"] else None}
            for row in instance.db.all("SELECT id, state, priority, payload, result, error,"
                                       " started_at FROM jobs WHERE kind = 'federation.prefetch'"
                                       " ORDER BY id")]


def _wait_for_prefetch(instance: Instance) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        jobs = _prefetch_jobs(instance)
        if jobs and all(job["state"] in ("succeeded", "failed") for job in jobs):
            return jobs
        time.sleep(0.3)
    raise AssertionError((instance.root / "worker.log").read_text()[-3000:])


def test_every_missing_thumbnail_is_fetched_in_resuming_runs(origin: dict[str, Any]) -> None:
    source: Instance = origin["instance"]
    follower = Instance(origin["root"], "follower",
                        SALON_FEDERATION_PREFETCH_BATCH=str(BATCH)).start()
    try:
        peer_id = _follow_and_sync(source, follower)
        # The sync stayed fast: it fetched its own share and queued the rest, low priority.
        assert _thumbs(follower, peer_id) == INLINE
        queued = _prefetch_jobs(follower)
        assert [(job["state"], job["payload"]) for job in queued] == [
            ("queued", {"peer_id": peer_id})]
        assert queued[0]["priority"] < 0
        assert follower.db.value("SELECT error FROM peer_sync_log WHERE peer_id = ?",
                                 (peer_id,)) is None

        follower.start_worker()
        jobs = _wait_for_prefetch(follower)
    finally:
        follower.stop()

    missing = PICTURES - INLINE  # 180, one of which the origin cannot serve
    assert all(job["state"] == "succeeded" for job in jobs), jobs
    assert len(jobs) == -(-missing // BATCH)  # bounded runs, each queuing the next
    results = [job["result"] for job in jobs]
    assert [result["fetched"] + result["failed"] for result in results] == \
        [BATCH] * (missing // BATCH) + [missing % BATCH]
    # Each run resumed below where the previous one stopped: nothing fetched twice,
    # the broken thumbnail tried once.
    assert sum(result["fetched"] for result in results) == missing - 1
    assert sum(result["failed"] for result in results) == 1
    for previous, job in itertools.pairwise(jobs):
        assert job["payload"]["below"] == previous["result"]["below"]
    broken = str(origin["ids"][-1])
    assert results[0]["errors"] == [f"{broken}: the peer does not have this picture (404)"]
    assert _thumbs(follower, peer_id) == PICTURES - 1
    cached = {row["remote_id"] for row in follower.db.all(
        "SELECT remote_id FROM proxy_cache WHERE peer_id = ?", (peer_id,))}
    assert broken not in cached
    assert "thumbnail " + broken + " not prefetched" in (follower.root / "worker.log").read_text()


def test_prefetch_stops_before_the_cache_evicts_its_own_thumbnails(
        origin: dict[str, Any]) -> None:
    source: Instance = origin["instance"]
    follower = Instance(origin["root"], "small", SALON_PROXY_CACHE_MB="1",
                        SALON_FEDERATION_PREFETCH_BATCH=str(BATCH)).start()
    try:
        peer_id = _follow_and_sync(source, follower)
        follower.start_worker()
        jobs = _wait_for_prefetch(follower)
    finally:
        follower.stop()

    assert [job["state"] for job in jobs] == ["succeeded"]  # stopped: no next run queued
    result = jobs[0]["result"]
    assert result["stopped"] == "the proxy cache is full of this chain's thumbnails"
    assert result["next_job"] is None and result["failed"] == 1
    cap = 2**20
    size = origin["thumb_size"]
    assert result["fetched"] == cap // size  # as many as fit, then no more
    assert result["chain_bytes"] == result["fetched"] * size <= cap
    # Everything the run fetched is still cached: the cache evicted only older files.
    kept = follower.db.value("SELECT count(*) FROM proxy_cache WHERE peer_id = ?"
                             " AND used_at >= ?", (peer_id, jobs[0]["started_at"]))
    assert kept == result["fetched"]
    assert follower.db.value("SELECT sum(size_bytes) FROM proxy_cache") <= cap
