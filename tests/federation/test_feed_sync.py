"""The change feed and the sync's page application, between two in-process instances.

The follower's ``fetch`` reads the origin's feed function directly (through a
JSON round trip), so these tests cover what the feed says and what the
follower stores; tests/federation/test_instances.py does the same over HTTP
between real processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app, tagging
from app.cli import initialise
from app.db import Database
from app.errors import AppError
from app.federation.feed import changes_page
from app.federation.remote import FeedError
from app.federation.sync import sync_peer
from app.queries import images
from app.queries.visibility import Viewer
from app.search.engine import run_search
from tests.federation.helpers import add_pictures, add_user

ORIGIN_URL = "http://origin.test"


def _app(root: Path, **extra: Any) -> Flask:
    app = create_app({"TESTING": True, "INSTANCE": root / "instance",
                      "DATABASE": root / "instance" / "salon.db", "UPLOADS": root / "uploads",
                      "SECRET_KEY": "test", "BASE_URL": f"http://{root.name}.test", **extra})
    initialise(app)
    return app


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Flask]:
    app = _app(tmp_path / "origin")
    yield app
    app.extensions["salon.db"].close()


@pytest.fixture
def follower(tmp_path: Path) -> Iterator[Flask]:
    app = _app(tmp_path / "follower")
    yield app
    app.extensions["salon.db"].close()


def db_of(app: Flask) -> Database:
    return app.extensions["salon.db"]


def add_origin_peer(follower: Flask, following: str = "approved") -> int:
    db = db_of(follower)
    with db.transaction():
        return db.execute("INSERT INTO peers (base_url, name, following) VALUES (?, ?, ?)",
                          (ORIGIN_URL, "Origin", following))


def feed_from(origin: Flask, share_nsfw: bool = False, calls: list[int] | None = None) -> Any:
    def fetch(peer: Any, cursor: int, limit: int) -> Any:
        if calls is not None:
            calls.append(cursor)
        page = changes_page(db_of(origin), after=cursor, limit=limit, share_nsfw=share_nsfw,
                            base_url=ORIGIN_URL)
        return json.loads(json.dumps(page))

    return fetch


def feed_ops(origin: Flask, after: int = 0, share_nsfw: bool = False) -> list[tuple[str, str]]:
    page = changes_page(db_of(origin), after=after, limit=500, share_nsfw=share_nsfw,
                        base_url=ORIGIN_URL)
    return [(change["op"], change.get("id") or change["picture"]["id"])
            for change in page["changes"]]


def remote_ids(follower: Flask) -> list[str]:
    return [row["remote_id"] for row in db_of(follower).all(
        "SELECT remote_id FROM images WHERE peer_id IS NOT NULL ORDER BY CAST(remote_id AS INT)")]


def search_ids(app: Flask, query: str, viewer: Viewer) -> list[int]:
    return [row["id"] for row in run_search(db_of(app), viewer, query, limit=1000).items]


# -- the feed -------------------------------------------------------------------------


def test_feed_offers_shared_pictures_and_tombstones_only_what_was_offered(origin) -> None:
    db = db_of(origin)
    alice = add_user(db, "alice")
    public, = add_pictures(db, alice, 1)
    private, = add_pictures(db, alice, 1, visibility="private")
    nsfw, = add_pictures(db, alice, 1, rating="explicit")
    assert feed_ops(origin) == [("upsert", str(public))]
    cursor = db.value("SELECT max(seq) FROM federation_changes")

    with db.transaction():
        db.execute("UPDATE images SET visibility = 'private' WHERE id IN (?, ?)", (public, nsfw))
        db.execute("UPDATE images SET title = 'still private' WHERE id = ?", (private,))
    # The shared one goes as a tombstone; the NSFW one was never offered, the private one
    # never public: neither is announced.
    assert feed_ops(origin, cursor) == [("delete", str(public))]


def test_nsfw_needs_the_instance_and_the_owner(origin) -> None:
    db = db_of(origin)
    alice = add_user(db, "alice")
    nsfw, = add_pictures(db, alice, 1, rating="questionable")
    assert feed_ops(origin, share_nsfw=True) == []
    with db.transaction():
        db.execute("UPDATE users SET preferences = ? WHERE id = ?",
                   (json.dumps({"federation_share_nsfw": True}), alice))
    assert feed_ops(origin, share_nsfw=False) == []
    assert feed_ops(origin, share_nsfw=True) == [("upsert", str(nsfw))]


def test_every_change_moves_the_picture_to_a_new_larger_sequence_number(origin) -> None:
    db = db_of(origin)
    alice = add_user(db, "alice")
    first, second = add_pictures(db, alice, 2)

    def seq(image_id: int) -> int:
        return int(db.value("SELECT seq FROM federation_changes WHERE image_id = ?", (image_id,)))

    before = seq(first)
    tagging.edit_tags(db, first, ["dog"], [])
    after_tags = seq(first)
    with db.transaction():
        db.execute("UPDATE image_metadata SET prompt = 'a loud harbour' WHERE image_id = ?",
                   (first,))
    after_metadata = seq(first)
    with db.transaction():
        db.execute("UPDATE images SET caption = 'a cat' WHERE id = ?", (first,))
    assert before < after_tags < after_metadata < seq(first)
    assert seq(second) < after_tags
    assert db.value("SELECT count(*) FROM federation_changes") == 2


def test_feed_pages_follow_the_cursor(origin) -> None:
    db = db_of(origin)
    alice = add_user(db, "alice")
    ids = add_pictures(db, alice, 7)
    first = changes_page(db, after=0, limit=5, share_nsfw=False, base_url=ORIGIN_URL)
    second = changes_page(db, after=first["next_after"], limit=5, share_nsfw=False,
                          base_url=ORIGIN_URL)
    assert first["more"] and not second["more"]
    seen = [c["picture"]["id"] for c in first["changes"] + second["changes"]]
    assert seen == [str(i) for i in ids]
    picture = first["changes"][0]["picture"]
    assert picture["tags"] == [{"name": "cat", "category": "general", "confidence": None}]
    assert picture["metadata"]["prompt"] == "a quiet harbour"
    assert picture["url"] == f"{ORIGIN_URL}/images/{ids[0]}"


# -- the follower's side --------------------------------------------------------------


def test_sync_stores_remote_pictures_that_search_finds(origin, follower) -> None:
    alice = add_user(db_of(origin), "alice")
    ids = add_pictures(db_of(origin), alice, 25, tags=("cat", "harbour"))
    peer_id = add_origin_peer(follower)
    calls: list[int] = []
    result = sync_peer(db_of(follower), follower.config, peer_id,
                       fetch=feed_from(origin, calls=calls), limit=10)
    assert (result.pages, result.upserts) == (3, 25)
    assert calls[0] == 0 and len(calls) == 3
    assert remote_ids(follower) == [str(i) for i in ids]

    fdb = db_of(follower)
    bob = add_user(fdb, "bob")
    viewer = Viewer(bob)
    assert len(search_ids(follower, "source:remote cat", viewer)) == 25
    assert len(search_ids(follower, "peer:Origin", viewer)) == 25
    assert len(search_ids(follower, "peer:origin.test harbour", viewer)) == 25
    assert search_ids(follower, "source:local", viewer) == []
    assert fdb.value("SELECT count FROM tags WHERE name = 'cat'") == 25
    assert fdb.value("SELECT count(*) FROM image_tags WHERE source = 'remote'") == 50
    peer = fdb.one("SELECT * FROM peers WHERE id = ?", (peer_id,))
    assert peer["cursor"] == db_of(origin).value("SELECT max(seq) FROM federation_changes")
    assert peer["user_id"] is not None and peer["last_error"] is None
    owner = fdb.one("SELECT * FROM users WHERE id = ?", (peer["user_id"],))
    assert owner["disabled"] == 1
    assert not fdb.value("SELECT count(*) FROM jobs")  # remote pictures are never analysed
    log = fdb.one("SELECT * FROM peer_sync_log WHERE peer_id = ?", (peer_id,))
    assert (log["pages"], log["upserts"], log["error"]) == (3, 25, None)


def test_edits_privacy_and_deletions_propagate(origin, follower) -> None:
    odb, fdb = db_of(origin), db_of(follower)
    alice = add_user(odb, "alice")
    edited, hidden, deleted, kept = add_pictures(odb, alice, 4)
    peer_id = add_origin_peer(follower)
    fetch = feed_from(origin)
    sync_peer(fdb, follower.config, peer_id, fetch=fetch)

    tagging.edit_tags(odb, edited, ["dog"], ["cat"])
    with odb.transaction():
        odb.execute("UPDATE images SET visibility = 'private' WHERE id = ?", (hidden,))
        images.tombstone(odb, deleted)
    result = sync_peer(fdb, follower.config, peer_id, fetch=fetch)
    assert (result.upserts, result.deletes) == (1, 2)
    assert remote_ids(follower) == [str(edited), str(kept)]
    local = fdb.value("SELECT id FROM images WHERE remote_id = ?", (str(edited),))
    assert [t["name"] for t in fdb.all(
        "SELECT t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE image_id = ?",
        (local,))] == ["dog"]
    assert fdb.value("SELECT count FROM tags WHERE name = 'cat'") == 1
    viewer = Viewer(add_user(fdb, "bob"))
    assert search_ids(follower, "dog", viewer) == [local]
    assert search_ids(follower, "source:remote -dog", viewer) != [local]


def test_a_failing_page_stores_nothing_and_the_next_run_resumes(origin, follower) -> None:
    odb, fdb = db_of(origin), db_of(follower)
    alice = add_user(odb, "alice")
    ids = add_pictures(odb, alice, 30)
    peer_id = add_origin_peer(follower)
    good = feed_from(origin)
    pages = 0

    def broken(peer: Any, cursor: int, limit: int) -> Any:
        nonlocal pages
        pages += 1
        page = good(peer, cursor, limit)
        if pages == 2:  # the second page breaks after a few good pictures
            page["changes"][5]["picture"]["tags"] = [{"name": "bad\x07tag"}]
        return page

    with pytest.raises(AppError):
        sync_peer(fdb, follower.config, peer_id, fetch=broken, limit=10)
    assert remote_ids(follower) == [str(i) for i in ids[:10]]
    peer = fdb.one("SELECT * FROM peers WHERE id = ?", (peer_id,))
    assert peer["failures"] == 1 and "control characters" in peer["last_error"]
    assert peer["next_sync_at"] is not None
    sync_peer(fdb, follower.config, peer_id, fetch=good, limit=10)
    assert remote_ids(follower) == [str(i) for i in ids]
    assert fdb.value("SELECT count FROM tags WHERE name = 'cat'") == 30
    assert fdb.one("SELECT failures, last_error FROM peers") == {"failures": 0,
                                                                 "last_error": None}


HOSTILE = {
    "not an object": [1, 2],
    "unknown op": {"changes": [{"seq": 1, "op": "explode", "id": "1"}], "next_after": 1,
                   "more": False},
    "wrong type": {"changes": [{"seq": "1", "op": "delete", "id": "1"}], "next_after": 1,
                   "more": False},
    "path in id": {"changes": [{"seq": 1, "op": "delete", "id": "../../etc"}], "next_after": 1,
                   "more": False},
    "too many": {"changes": [{"seq": n, "op": "delete", "id": str(n)} for n in range(1, 30)],
                 "next_after": 30, "more": False},
    "backwards": {"changes": [{"seq": 5, "op": "delete", "id": "1"},
                              {"seq": 4, "op": "delete", "id": "2"}], "next_after": 5,
                  "more": False},
    "stuck": {"changes": [], "next_after": 0, "more": True},
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_feed_pages_are_refused_whole(origin, follower, name: str) -> None:
    alice = add_user(db_of(origin), "alice")
    add_pictures(db_of(origin), alice, 3)
    fdb = db_of(follower)
    peer_id = add_origin_peer(follower)
    good = feed_from(origin)
    bad = HOSTILE[name]

    def fetch(peer: Any, cursor: int, limit: int) -> Any:
        page = good(peer, cursor, limit)
        return bad if not isinstance(bad, dict) else {**page, **bad,
                                                      "changes": page["changes"] + bad["changes"]}

    with pytest.raises(FeedError):
        sync_peer(fdb, follower.config, peer_id, fetch=fetch, limit=20)
    assert remote_ids(follower) == []
    assert fdb.value("SELECT cursor FROM peers") == 0
    assert fdb.value("SELECT error FROM peer_sync_log") is not None


def test_a_picture_linking_outside_its_peer_is_refused(origin, follower) -> None:
    add_pictures(db_of(origin), add_user(db_of(origin), "alice"), 1)
    peer_id = add_origin_peer(follower)
    good = feed_from(origin)

    def fetch(peer: Any, cursor: int, limit: int) -> Any:
        page = good(peer, cursor, limit)
        page["changes"][0]["picture"]["url"] = "javascript:alert(1)"
        return page

    with pytest.raises(FeedError, match="outside the peer"):
        sync_peer(db_of(follower), follower.config, peer_id, fetch=fetch)
    assert remote_ids(follower) == []


def test_unfollow_and_block_remove_the_remote_pictures(origin, follower) -> None:
    from app.federation import peers

    add_pictures(db_of(origin), add_user(db_of(origin), "alice"), 5)
    fdb = db_of(follower)
    peer_id = add_origin_peer(follower)
    sync_peer(fdb, follower.config, peer_id, fetch=feed_from(origin))
    assert len(remote_ids(follower)) == 5
    assert peers.block(fdb, follower.config, peer_id) == 5
    assert remote_ids(follower) == []
    assert fdb.value("SELECT count FROM tags WHERE name = 'cat'") == 0
    row = fdb.one("SELECT following, blocked, cursor FROM peers")
    assert row == {"following": "none", "blocked": 1, "cursor": 0}
    with pytest.raises(AppError):
        sync_peer(fdb, follower.config, peer_id, fetch=feed_from(origin))


def test_schedule_queues_due_peers_and_failures_back_off(origin, follower) -> None:
    from app.federation.jobs import schedule
    from app.federation.sync import backoff_seconds
    from app.jobs.queue import Queue

    fdb = db_of(follower)
    due = add_origin_peer(follower)
    with fdb.transaction():
        later = fdb.execute("INSERT INTO peers (base_url, name, following, next_sync_at)"
                            " VALUES ('http://later.test', 'Later', 'approved',"
                            " '2999-01-01T00:00:00Z')")
        fdb.execute("INSERT INTO peers (base_url, name, following) VALUES"
                    " ('http://asked.test', 'Asked', 'none')")

    class Context:
        db = fdb
        queue = Queue(fdb)

    assert schedule(Context()) == {"queued": 1}  # type: ignore[arg-type]
    jobs = fdb.all("SELECT kind, payload FROM jobs")
    assert jobs == [{"kind": "federation.sync", "payload": json.dumps({"peer_id": due})}]
    assert schedule(Context()) == {"queued": 1}  # type: ignore[arg-type]
    assert fdb.value("SELECT count(*) FROM jobs") == 1  # one pending sync per peer
    assert later != due

    def down(peer: Any, cursor: int, limit: int) -> Any:
        raise FeedError("The feed answered HTTP 503.")

    waits = []
    for _ in range(3):
        with pytest.raises(FeedError):
            sync_peer(fdb, follower.config, due, fetch=down)
        waits.append(fdb.one("SELECT failures, next_sync_at FROM peers WHERE id = ?", (due,)))
    assert [row["failures"] for row in waits] == [1, 2, 3]
    assert waits[0]["next_sync_at"] < waits[1]["next_sync_at"] < waits[2]["next_sync_at"]
    assert [backoff_seconds(n) for n in (1, 2, 3, 30)] == [60, 120, 240, 6 * 3600]
