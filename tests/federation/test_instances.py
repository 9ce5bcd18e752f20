"""Federation between real Salon processes on loopback ports (``salon web`` under gunicorn,
``salon worker``, the ``salon`` CLI), each instance with its own database and media.

origin ← follower: follow, approve, sync, search, edits, privacy and deletion.
origin ← third: 1,000 pictures over many pages, the sync killed with SIGKILL halfway and
finished by a real worker.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, jpeg_bytes
from tests.federation.helpers import add_pictures, add_user
from tests.federation.instances import Instance

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Instance]]:
    root = tmp_path_factory.mktemp("federation")
    started: dict[str, Instance] = {}
    try:
        for name in ("origin", "follower", "third"):
            started[name] = Instance(root, name).start()
        yield started
    finally:
        for instance in started.values():
            instance.stop()


def _upload(origin: Instance, key: str, color: tuple[int, int, int], title: str) -> int:
    response = httpx.post(origin.url + "/api/v1/images", headers={"Authorization": f"Bearer {key}"},
                          files={"file": (f"{title}.jpg", jpeg_bytes((320, 240), color))},
                          data={"visibility": "public", "title": title}, timeout=30)
    assert response.status_code == 201, response.text
    return int(response.json()["images"][0]["id"])


def _api(origin: Instance, key: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, origin.url + "/api/v1" + path, json=body, timeout=30,
                         headers={"Authorization": f"Bearer {key}"})


def _remote_titles(instance: Instance, query: str) -> list[str]:
    return sorted(row["title"] for row in instance.search(query))


def test_follow_approve_sync_and_every_kind_of_change(instances: dict[str, Instance]) -> None:
    origin, follower = instances["origin"], instances["follower"]
    origin.cli("create-user", "--username", "alice", "--password", PASSWORD)
    key = origin.api_key("alice")
    harbour = _upload(origin, key, (10, 90, 200), "harbour")
    fox = _upload(origin, key, (200, 90, 10), "fox")
    doomed = _upload(origin, key, (90, 200, 10), "doomed")
    private = _upload(origin, key, (90, 90, 90), "secret")
    assert _api(origin, key, "PATCH", f"/images/{private}", {"visibility": "private"}).is_success
    assert _api(origin, key, "POST", f"/images/{harbour}/tags", {"add": ["boats"]}).is_success

    # Follow: pending on the origin until its admin approves; both sides show the state.
    added = follower.cli("peers", "add", origin.url)
    assert "following: requested" in added.stdout
    assert follower.peer(origin.url)["following"] == "requested"
    pending = origin.peer(follower.url)
    assert pending["follower"] == "pending"
    refused = follower.cli("peers", "sync", check=False)
    assert refused.returncode == 1 and "not approved" in refused.stderr
    origin.cli("peers", "approve", str(pending["id"]))
    assert follower.peer(origin.url)["following"] == "approved"  # told by the origin

    synced = follower.cli("peers", "sync")
    assert "3 new or changed" in synced.stdout, synced.stdout
    assert _remote_titles(follower, "source:remote") == ["doomed", "fox", "harbour"]
    assert _remote_titles(follower, "peer:origin boats") == ["harbour"]
    assert _remote_titles(follower, f"peer:127.0.0.1:{origin.port}") == ["doomed", "fox",
                                                                          "harbour"]
    assert follower.search("source:local") == []
    assert follower.search("secret") == []
    peer_id = follower.peer(origin.url)["id"]
    cached = follower.db.value("SELECT count(*) FROM proxy_cache WHERE variant = 'thumb'")
    assert cached == 3  # thumbnails prefetched through the proxy during the sync

    # Edits on the origin propagate; private and deleted pictures disappear.
    assert _api(origin, key, "POST", f"/images/{fox}/tags", {"add": ["red fox"]}).is_success
    assert _api(origin, key, "PATCH", f"/images/{harbour}", {"visibility": "private"}).is_success
    assert _api(origin, key, "DELETE", f"/images/{doomed}").status_code == 204
    synced = follower.cli("peers", "sync", str(peer_id))
    assert "1 new or changed, 2 removed" in synced.stdout, synced.stdout
    assert _remote_titles(follower, "source:remote") == ["fox"]
    assert _remote_titles(follower, 'red_fox') == ["fox"]
    assert follower.search("boats") == []

    # The follower's picture page names the origin and links to it; the API says so too.
    remote = follower.search("source:remote")[0]
    bearer = {"Authorization": f"Bearer {follower.api_key('admin')}"}
    with httpx.Client(base_url=follower.url, timeout=30, headers=bearer) as admin:
        detail = admin.get(f"/api/v1/images/{remote['id']}").json()
        assert detail["origin"] == {"peer": "origin", "url": f"{origin.url}/images/{fox}"}
        thumb = admin.get(detail["urls"]["thumb"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
        page = admin.get(f"/images/{remote['id']}").text
        assert f'href="{origin.url}/images/{fox}"' in page and "from <strong>origin" in page

    # A new key on the follower: the origin fetches its document again and accepts it.
    follower.cli("federation", "rotate-key")
    assert "0 new or changed" in follower.cli("peers", "sync", str(peer_id)).stdout
    stored = origin.db.value("SELECT keys FROM peers WHERE base_url = ?", (follower.url,))
    assert len(json.loads(stored)) == 2  # current and previous

    # Unfollow removes the origin's pictures from the follower and tells the origin.
    follower.cli("peers", "unfollow", str(peer_id))
    assert follower.search("source:remote") == []
    assert origin.peer(follower.url)["follower"] == "none"


def test_a_thousand_pictures_survive_a_killed_sync(instances: dict[str, Instance]) -> None:
    origin, third = instances["origin"], instances["third"]
    carol = add_user(origin.db, "carol")
    add_pictures(origin.db, carol, 1000, tags=("bulk", "sea"))
    with origin.db.transaction():  # the origin approves followers by itself
        origin.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES"
                          " ('federation.auto_approve', 'true')")
    assert "following: approved" in third.cli("peers", "add", origin.url).stdout
    peer_id = third.peer(origin.url)["id"]
    shared = {str(row["id"]) for row in origin.db.all(
        "SELECT id FROM images WHERE visibility = 'public' AND deleted_at IS NULL")}

    # Sync in pages of 20 and kill the process (SIGKILL) once some pages are stored.
    syncing = third.spawn("peers", "sync", str(peer_id), "--limit", "20", log="sync.log")
    stored_at_kill = _kill_when_started(third, syncing, peer_id)
    assert 0 < stored_at_kill < len(shared), "the sync was not interrupted halfway"

    worker = third.start_worker()
    third.cli("peers", "sync", str(peer_id), "--queue")
    _wait_for_sync_job(third)
    assert worker.poll() is None
    rows = third.db.all("SELECT remote_id FROM images WHERE peer_id = ?", (peer_id,))
    assert {row["remote_id"] for row in rows} == shared
    assert len(rows) == len(shared)
    assert third.db.value("SELECT count FROM tags WHERE name = 'bulk'") == 1000
    assert third.db.value("SELECT count(*) FROM image_tags it JOIN images i ON i.id = it.image_id"
                          " WHERE i.peer_id = ? AND it.source = 'remote'"
                          " AND i.title LIKE 'picture %'", (peer_id,)) == 2000
    assert len(third.search("peer:origin bulk sea")) == 1000
    log = third.db.all("SELECT error FROM peer_sync_log WHERE peer_id = ? ORDER BY id",
                       (peer_id,))
    assert [entry["error"] for entry in log][-2:] == ["interrupted", None]


def _kill_when_started(instance: Instance, process: Any, peer_id: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        stored = instance.db.value("SELECT count(*) FROM images WHERE peer_id = ?", (peer_id,))
        if stored:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return int(instance.db.value("SELECT count(*) FROM images WHERE peer_id = ?",
                                         (peer_id,)))
        time.sleep(0.01)
    process.wait()
    return int(instance.db.value("SELECT count(*) FROM images WHERE peer_id = ?", (peer_id,)))


def _wait_for_sync_job(instance: Instance) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rows = instance.db.all("SELECT state, error FROM jobs WHERE kind = 'federation.sync'")
        if rows and all(row["state"] in ("succeeded", "failed") for row in rows):
            assert all(row["state"] == "succeeded" for row in rows), rows
            return
        time.sleep(0.2)
    raise AssertionError((instance.root / "worker.log").read_text()[-3000:])


def test_unsigned_and_wrongly_signed_requests_are_refused(instances: dict[str, Instance]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.federation.identity import Identity, PublicKeyInfo
    from app.federation.signatures import sign_request

    origin, follower = instances["origin"], instances["follower"]
    peers_before = origin.db.all("SELECT * FROM peers ORDER BY id")
    body = json.dumps({"base_url": "http://127.0.0.1:9", "name": "mallory"}).encode()
    unsigned = httpx.post(origin.url + "/federation/v1/follow", content=body,
                          headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert unsigned.json()["error"] == "signature rejected"
    assert httpx.get(origin.url + "/federation/v1/changes?after=0").status_code == 401
    assert httpx.get(origin.url + "/federation/v1/media/1/thumb").status_code == 401

    # The follower's real key id, but signed with another key.
    document = httpx.get(follower.url + "/.well-known/salon").json()
    key_id = document["keys"][0]["id"]
    forged = Identity(key_id, Ed25519PrivateKey.generate(),
                      [PublicKeyInfo(key_id, "x", "current")])
    for method, path, payload in (("GET", "/federation/v1/changes?after=0", None),
                                  ("POST", "/federation/v1/follow", body)):
        url = origin.url + path
        headers = sign_request(forged, method, url, {"Content-Type": "application/json"},
                               payload)
        refused = httpx.request(method, url, content=payload,
                                headers={"Content-Type": "application/json", **headers})
        assert refused.status_code == 401, refused.text
        assert refused.json()["reason"] == "bad signature"
    assert origin.db.all("SELECT * FROM peers ORDER BY id") == peers_before


def test_a_hostile_peer_feed_is_refused_cleanly(instances: dict[str, Instance]) -> None:
    from tests.federation.hostile import HostileServer, json_response

    follower = instances["follower"]
    with HostileServer() as evil:
        document = {"software": "salon", "api_version": 1, "name": "evil",
                    "base_url": evil.base_url,
                    "keys": [{"id": evil.base_url + "/.well-known/salon#k", "type": "ed25519",
                              "public_key": "A" * 43, "status": "current"}]}
        evil.route("/.well-known/salon", json_response(document))
        evil.route("/federation/v1/follow", json_response({"state": "approved"}, 202))
        assert "following: approved" in follower.cli("peers", "add", evil.base_url).stdout
        peer_id = str(follower.peer(evil.base_url)["id"])
        bad_pages = [
            {"changes": [{"seq": 1, "op": "upsert", "picture": {"id": 5}}], "next_after": 1,
             "more": False},
            {"changes": [{"seq": 1, "op": "drop_table", "id": "1"}], "next_after": 1,
             "more": False},
            {"changes": [{"seq": n, "op": "delete", "id": str(n)} for n in range(1, 2000)],
             "next_after": 2000, "more": True},
            {"changes": [], "next_after": 0, "more": True},
            "<html>not json</html>",
        ]
        for page in bad_pages:
            evil.route("/federation/v1/changes", json_response(page))
            done = follower.cli("peers", "sync", peer_id, check=False)
            assert done.returncode == 1, done.stdout
            assert "sync failed" in done.stderr
        evil.route("/federation/v1/changes",
                   json_response({"changes": [], "padding": "x" * (9 * 2**20)}))
        too_big = follower.cli("peers", "sync", peer_id, check=False)
        assert "larger than" in too_big.stderr, too_big.stderr
    row = follower.db.one("SELECT cursor, failures FROM peers WHERE id = ?", (int(peer_id),))
    assert row == {"cursor": 0, "failures": len(bad_pages) + 1}
    assert follower.db.value("SELECT count(*) FROM images WHERE peer_id = ?",
                             (int(peer_id),)) == 0
    errors = follower.db.all("SELECT error FROM peer_sync_log WHERE peer_id = ?",
                             (int(peer_id),))
    assert len(errors) == len(bad_pages) + 1 and all(entry["error"] for entry in errors)


def test_changes_reach_a_follower_within_seconds_by_push(instances: dict[str, Instance]) -> None:
    # Both sides run their worker: the origin pushes, the follower syncs; nobody asks.
    origin, follower = instances["origin"], instances["follower"]
    with origin.db.transaction():  # the origin approves followers by itself
        origin.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES"
                          " ('federation.auto_approve', 'true')")
    assert "following: approved" in follower.cli("peers", "add", origin.url).stdout
    origin.cli("create-user", "--username", "lena", "--password", PASSWORD)
    key = origin.api_key("lena")
    origin.start_worker()
    follower.start_worker()
    lighthouse = _upload(origin, key, (240, 240, 40), "lighthouse")

    deadline = time.monotonic() + 90  # a functional wait: pushes come within seconds
    while time.monotonic() < deadline and not follower.search("lighthouse"):
        time.sleep(0.5)
    assert _remote_titles(follower, "lighthouse") == ["lighthouse"], (
        (origin.root / "worker.log").read_text()[-2000:],
        (follower.root / "worker.log").read_text()[-2000:])
    pushes = origin.db.all("SELECT result FROM jobs WHERE kind = 'federation.push'"
                           " AND state = 'succeeded'")
    assert pushes and any(json.loads(row["result"])["sent"] >= 1 for row in pushes)
    assert follower.db.value("SELECT notified FROM peers WHERE base_url = ?", (origin.url,)) > 0
    assert _api(origin, key, "DELETE", f"/images/{lighthouse}").status_code == 204
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and follower.search("lighthouse"):
        time.sleep(0.5)
    assert follower.search("lighthouse") == []
