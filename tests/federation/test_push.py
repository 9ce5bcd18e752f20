"""Push: the origin tells its approved followers that its feed moved; a follower queues
a sync of that peer only. The notification is signed, carries no content, and cannot
make a follower sync more than once per interval."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app.federation.identity import instance_document, load_identity
from app.federation.push import (
    MIN_INTERVAL,
    PUSH_KIND,
    push_due,
    push_now,
    pushed_seq,
)
from app.federation.signatures import SignatureError, sign_request, verify_request
from app.federation.sync import sync_peer
from app.jobs.supervisor import Supervisor
from app.queries import peers as peer_queries
from tests.federation.helpers import add_pictures, add_user
from tests.federation.hostile import Handler, HostileServer, send

NOTIFY = "/federation/v1/notify"


def _self_peer(app: Flask, db: Any, following: str = "approved", cursor: int = 5) -> int:
    """This instance as its own peer: what it signs then verifies here."""
    document = instance_document(app.config, load_identity(app.config))
    with db.transaction():
        return db.execute(
            "INSERT INTO peers (base_url, name, following, keys, cursor) VALUES (?, 'self', ?,"
            " ?, ?)", (document["base_url"], following, json.dumps(document["keys"]), cursor))


def _notify(app: Flask, client: Any, body: Any) -> Any:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(sign_request(load_identity(app.config), "POST",
                                app.config["BASE_URL"] + NOTIFY, headers, data))
    return client.post(NOTIFY, data=data, headers=headers)


def _sync_jobs(db: Any) -> list[Any]:
    return db.all("SELECT id, payload, run_after, created_at FROM jobs"
                  " WHERE kind = 'federation.sync'")


# -- the follower's side ------------------------------------------------------------------


def test_notify_needs_a_signature_from_a_peer_we_follow(app, db, client) -> None:
    unsigned = client.post(NOTIFY, json={"latest": 9})
    assert unsigned.status_code == 401 and unsigned.get_json()["error"] == "signature rejected"
    assert _notify(app, client, {"latest": 9}).status_code == 401  # an unknown key

    peer_id = _self_peer(app, db, following="none")
    refused = _notify(app, client, {"latest": 9})
    assert refused.status_code == 403
    db.execute("UPDATE peers SET following = 'approved', blocked = 1")
    assert _notify(app, client, {"latest": 9}).status_code == 403
    db.execute("UPDATE peers SET blocked = 0")
    for bad in ({"latest": "9"}, {"latest": -1}, {"latest": True}, [9], {}):
        answer = _notify(app, client, bad)
        assert answer.status_code == 400 and answer.get_json()["field"] == "latest"
    assert _sync_jobs(db) == []
    assert peer_queries.get_peer(db, peer_id)["notified"] == 0


def test_notify_queues_one_sync_unless_we_already_have_it(app, db, client) -> None:
    peer_id = _self_peer(app, db, cursor=5)
    known = _notify(app, client, {"latest": 5})
    assert known.status_code == 202 and known.get_json() == {"queued": False}
    assert _sync_jobs(db) == []

    for _ in range(3):  # a burst of notifications: still one pending sync
        answer = _notify(app, client, {"latest": 8})
        assert answer.status_code == 202 and answer.get_json() == {"queued": True}
    [job] = _sync_jobs(db)
    assert json.loads(job["payload"]) == {"peer_id": peer_id}
    assert job["run_after"] <= job["created_at"] + 0.5  # never synced: at once
    assert peer_queries.get_peer(db, peer_id)["notified"] == 3


def test_a_recent_sync_delays_the_next_one(app, db, client) -> None:
    peer_id = _self_peer(app, db)
    with db.transaction():
        peer_queries.set_states(db, peer_id, last_sync_at=peer_queries.iso(time.time()))
    assert _notify(app, client, {"latest": 8}).get_json() == {"queued": True}
    [job] = _sync_jobs(db)
    assert job["run_after"] - job["created_at"] > MIN_INTERVAL - 2


def _page(after: int, seq: int) -> dict[str, Any]:
    return {"changes": [], "next_after": max(after, seq), "more": False}


def test_a_notification_during_a_sync_brings_the_next_sync_forward(app, db) -> None:
    peer_id = _self_peer(app, db, cursor=0)

    def fetch_while_notified(peer: Any, cursor: int, limit: int) -> Any:
        db.execute("UPDATE peers SET notified = notified + 1 WHERE id = ?", (peer_id,))
        return _page(cursor, 1)

    before = time.time()
    sync_peer(db, app.config, peer_id, fetch=fetch_while_notified)
    assert peer_queries.get_peer(db, peer_id)["next_sync_at"] <= peer_queries.iso(before + 1)

    sync_peer(db, app.config, peer_id, fetch=lambda peer, cursor, limit: _page(cursor, 1))
    later = peer_queries.get_peer(db, peer_id)["next_sync_at"]
    assert later >= peer_queries.iso(time.time() + 25 * 60)  # back to the timer


# -- the origin's side ---------------------------------------------------------------------


class Follower:
    """A follower that checks the origin's signature on every notification."""

    def __init__(self, server: HostileServer, app: Flask) -> None:
        self.server = server
        self.identity = load_identity(app.config)
        self.bodies: list[Any] = []
        server.route(NOTIFY, self.receive)

    def receive(self, handler: Handler) -> None:
        keys = {self.identity.key_id: self.identity.private_key.public_key()}
        try:
            verify_request(handler.command, self.server.url(handler.path),
                           handler.recorded.headers, handler.recorded.body,
                           resolve_key=keys.get, seen=lambda digest, created: False)
        except SignatureError as error:
            send(handler, 401, error.reason.encode(), "text/plain")
            return
        self.bodies.append(json.loads(handler.recorded.body))
        send(handler, 202, b'{"queued": true}', "application/json")


@pytest.fixture
def follower(app: Flask) -> Iterator[Follower]:
    app.config["FEDERATION_ALLOW_PRIVATE"] = True
    with HostileServer() as server:
        yield Follower(server, app)


def _add_follower(db: Any, base_url: str, state: str = "approved") -> int:
    with db.transaction():
        return db.execute("INSERT INTO peers (base_url, name, follower) VALUES (?, ?, ?)",
                          (base_url, base_url.rsplit(":", 1)[-1], state))


def test_followers_are_told_the_newest_sequence_number_once(app, db, follower) -> None:
    carol = add_user(db, "carol")
    add_pictures(db, carol, 3)
    assert not push_due(db, app.config)  # nobody to tell
    _add_follower(db, follower.server.base_url, state="pending")
    assert not push_due(db, app.config)  # not approved: not told
    db.execute("UPDATE peers SET follower = 'approved'")
    assert push_due(db, app.config)

    outcome = push_now(db, app.config)
    latest = db.value("SELECT MAX(seq) FROM federation_changes")
    assert outcome == {"latest": latest, "sent": 1, "failed": []}
    assert follower.bodies == [{"latest": latest}]  # the number only, signed
    assert pushed_seq(db) == latest and not push_due(db, app.config)

    add_pictures(db, carol, 1)
    assert push_due(db, app.config)
    app.config["FEDERATION_PUSH"] = False
    assert not push_due(db, app.config)


def test_a_follower_that_is_down_does_not_stop_the_others(app, db, follower) -> None:
    add_pictures(db, add_user(db, "carol"), 1)
    with HostileServer() as gone:
        down = gone.base_url
    _add_follower(db, down)
    _add_follower(db, follower.server.base_url)
    outcome = push_now(db, app.config)
    assert outcome["sent"] == 1 and len(outcome["failed"]) == 1
    assert outcome["failed"][0].startswith(down.rsplit(":", 1)[-1] + ": ")
    assert len(follower.bodies) == 1
    assert not push_due(db, app.config)  # it catches up on its own timer


def test_the_supervisor_queues_a_push_when_the_feed_moved(app, db, follower) -> None:
    supervisor = Supervisor(dict(app.config))
    supervisor.housekeeping()
    assert db.value("SELECT count(*) FROM jobs WHERE kind = ?", (PUSH_KIND,)) == 0
    _add_follower(db, follower.server.base_url)
    add_pictures(db, add_user(db, "carol"), 1)
    supervisor.housekeeping()
    supervisor.housekeeping()
    assert db.value("SELECT count(*) FROM jobs WHERE kind = ?", (PUSH_KIND,)) == 1
    supervisor.queue.db.close()
