"""Peers for admins as JSON (``/api/v1/peers``) and the CLI's unblock, auto-approve and log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from app.cli import main
from app.queries import peers as peer_queries
from app.queries.settings import get_setting
from tests.conftest import Browser
from tests.federation.helpers import add_peer, add_pictures, add_user

ROUTES = [("GET", "/api/v1/peers"), ("POST", "/api/v1/peers"), ("GET", "/api/v1/peers/1"),
          *(("POST", f"/api/v1/peers/1/{action}")
            for action in ("approve", "deny", "block", "unblock", "unfollow", "sync")),
          ("PUT", "/api/v1/peers/settings")]


def call(user: Browser, method: str, url: str, body: Any = None) -> Any:
    """A JSON request with the session's CSRF header, as the browser's scripts send it."""
    return user.client.open(url, method=method, json=body,
                            headers={"X-CSRFToken": user.csrf()})


def _state(db: Any, peer_id: int) -> tuple[str, str, int]:
    row = peer_queries.get_peer(db, peer_id)
    assert row is not None
    return row["following"], row["follower"], row["blocked"]


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_every_route_is_for_admins_only(app, db, alice: Browser, method: str,
                                        url: str) -> None:
    add_peer(db)
    refused = call(alice, method, url, {"url": "http://x.test", "auto_approve": True})
    assert refused.status_code == 403, refused.get_json()
    anonymous = app.test_client().open(url, method=method, json={})
    assert anonymous.status_code == 401
    assert _state(db, 1) == ("approved", "none", 0)


def test_list_shows_peers_and_the_setting(app, db, admin: Browser) -> None:
    origin = add_peer(db)
    fan = add_peer(db, "http://fan.test", "Fan", following="none", follower="pending")
    shadow = add_user(db, "shadow")
    add_pictures(db, shadow, 2, peer_id=origin)
    body = call(admin, "GET", "/api/v1/peers").get_json()
    assert body["auto_approve"] is False and body["own_url"] == app.config["BASE_URL"]
    listed = {peer["id"]: peer for peer in body["peers"]}
    assert (listed[origin]["following"], listed[origin]["pictures"]) == ("approved", 2)
    assert (listed[fan]["follower"], listed[fan]["blocked"]) == ("pending", False)


def test_one_peer_with_its_pictures_and_log(db, admin: Browser) -> None:
    peer_id = add_peer(db)
    add_pictures(db, add_user(db, "shadow"), 3, peer_id=peer_id)
    with db.transaction():
        log_id = peer_queries.start_log(db, peer_id)
        peer_queries.add_to_log(db, log_id, 2, 3, 1)
        peer_queries.finish_log(db, log_id, "HTTP 500")
    body = call(admin, "GET", f"/api/v1/peers/{peer_id}").get_json()
    assert (body["id"], body["name"], body["pictures"]) == (peer_id, "Origin", 3)
    (entry,) = body["log"]
    assert (entry["pages"], entry["upserts"], entry["deletes"], entry["error"]) == (
        2, 3, 1, "HTTP 500")
    assert call(admin, "GET", "/api/v1/peers/99").status_code == 404


def test_settings_round_trip_and_refuse_a_non_bool(db, admin: Browser) -> None:
    answer = call(admin, "PUT", "/api/v1/peers/settings", {"auto_approve": True})
    assert answer.status_code == 200 and answer.get_json() == {"auto_approve": True}
    assert get_setting(db, "federation.auto_approve") is True
    assert call(admin, "GET", "/api/v1/peers").get_json()["auto_approve"] is True
    for body in ({"auto_approve": "yes"}, {"auto_approve": 1}, {}, ["auto_approve"], None):
        refused = call(admin, "PUT", "/api/v1/peers/settings", body)
        assert refused.status_code == 400, body
        assert refused.get_json()["field"] == "auto_approve"
    assert get_setting(db, "federation.auto_approve") is True
    assert call(admin, "PUT", "/api/v1/peers/settings",
                {"auto_approve": False}).get_json() == {"auto_approve": False}


def test_actions_change_the_peer(db, admin: Browser) -> None:
    fan = add_peer(db, "http://fan.test", "Fan", following="none", follower="pending")
    approved = call(admin, "POST", f"/api/v1/peers/{fan}/approve")
    assert approved.status_code == 200
    assert approved.get_json()["message"] == "Fan is approved as a follower."
    assert approved.get_json()["peer"]["follower"] == "approved"
    call(admin, "POST", f"/api/v1/peers/{fan}/deny")
    assert _state(db, fan) == ("none", "denied", 0)

    origin = add_peer(db)
    add_pictures(db, add_user(db, "shadow"), 2, peer_id=origin)
    blocked = call(admin, "POST", f"/api/v1/peers/{origin}/block").get_json()
    assert blocked["message"] == "Blocked; 2 remote picture(s) removed."
    assert blocked["peer"]["blocked"] is True and blocked["peer"]["pictures"] == 0
    assert _state(db, origin) == ("none", "none", 1)
    unblocked = call(admin, "POST", f"/api/v1/peers/{origin}/unblock").get_json()
    assert unblocked == {"message": "Unblocked.", "peer": unblocked["peer"]}
    assert unblocked["peer"]["blocked"] is False

    followed = add_peer(db, "http://far.test", "Far")
    unfollowed = call(admin, "POST", f"/api/v1/peers/{followed}/unfollow")
    assert unfollowed.status_code == 200
    assert call(admin, "GET", f"/api/v1/peers/{followed}").get_json()["following"] == "none"


def test_a_refused_action_is_json(db, admin: Browser) -> None:
    origin = add_peer(db)  # it never asked to follow us
    refused = call(admin, "POST", f"/api/v1/peers/{origin}/approve")
    assert refused.status_code == 409 and "has not asked" in refused.get_json()["error"]
    for action in ("approve", "block", "unblock", "unfollow", "sync"):
        assert call(admin, "POST", f"/api/v1/peers/99/{action}").status_code == 404, action
    assert db.value("SELECT count(*) FROM jobs") == 0


def test_sync_queues_a_job(db, admin: Browser) -> None:
    origin = add_peer(db)
    answer = call(admin, "POST", f"/api/v1/peers/{origin}/sync")
    assert answer.status_code == 202
    body = answer.get_json()
    job = db.one("SELECT * FROM jobs WHERE id = ?", (body["job_id"],))
    assert job["kind"] == "federation.sync"
    assert json.loads(job["payload"]) == {"peer_id": origin}
    assert body["message"] == f"Sync queued (job {body['job_id']})."
    assert body["peer"]["id"] == origin


@pytest.mark.parametrize(("body", "status", "message"), [
    (None, 400, "JSON object"),
    (["http://x.test"], 400, "JSON object"),
    ({"url": 42}, 400, "JSON object"),
    ({}, 400, "JSON object"),
    ({"url": "ftp://example.org"}, 400, "http:// or https://"),
    ({"url": "http://127.0.0.1:5000"}, 400, "own address"),
    ({"url": "http://10.0.0.1"}, 502, "10.0.0.1"),  # a private address, refused unsent
])
def test_adding_a_bad_peer_is_refused(db, admin: Browser, body: Any, status: int,
                                      message: str) -> None:
    refused = call(admin, "POST", "/api/v1/peers", body)
    assert refused.status_code == status
    assert refused.get_json()["field"] == "url"
    assert message in refused.get_json()["error"]
    assert db.value("SELECT count(*) FROM peers") == 0


def test_openapi_documents_the_peer_routes(client) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/peers"]) == {"get", "post"}
    assert "get" in paths["/api/v1/peers/{peer_id}"]
    assert "post" in paths["/api/v1/peers/{peer_id}/{peer_action}"]
    assert "put" in paths["/api/v1/peers/settings"]


# -- the CLI --------------------------------------------------------------------------


def invoke(app: Flask, args: list[str]) -> Any:
    """Like the ``runner`` fixture, but errors are exit codes here, not exceptions."""
    return CliRunner().invoke(main, args, obj=app)


def test_cli_unblocks(app, db) -> None:
    origin = add_peer(db)
    assert invoke(app, ["peers", "block", str(origin)]).exit_code == 0
    unblocked = invoke(app, ["peers", "unblock", str(origin)])
    assert unblocked.exit_code == 0 and f"peer {origin} unblocked" in unblocked.output
    assert _state(db, origin) == ("none", "none", 0)
    unknown = invoke(app, ["peers", "unblock", "99"])
    assert unknown.exit_code == 2 and "No peer 99" in unknown.output


def test_cli_auto_approve_sets_and_shows(app, db) -> None:
    assert invoke(app, ["peers", "auto-approve"]).output == "auto-approve: off\n"
    assert invoke(app, ["peers", "auto-approve", "on"]).output == "auto-approve: on\n"
    assert get_setting(db, "federation.auto_approve") is True
    assert invoke(app, ["peers", "auto-approve"]).output == "auto-approve: on\n"
    assert invoke(app, ["peers", "auto-approve", "off"]).output == "auto-approve: off\n"
    assert get_setting(db, "federation.auto_approve") is False
    assert invoke(app, ["peers", "auto-approve", "maybe"]).exit_code == 2


def test_cli_log_newest_first(app, db) -> None:
    origin = add_peer(db)
    assert "no syncs yet" in invoke(app, ["peers", "log", str(origin)]).output
    with db.transaction():
        first = peer_queries.start_log(db, origin)
        peer_queries.add_to_log(db, first, 1, 5, 0)
        peer_queries.finish_log(db, first, None)
        second = peer_queries.start_log(db, origin)
        peer_queries.finish_log(db, second, "HTTP 503")
    lines = invoke(app, ["peers", "log", str(origin)]).output.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("0 page(s), 0 new or changed, 0 removed  error: HTTP 503")
    assert lines[1].endswith("1 page(s), 5 new or changed, 0 removed  ok")
    body = json.loads(invoke(app, ["peers", "log", str(origin), "--json"]).output)
    assert [entry["id"] for entry in body["log"]] == [second, first]
    assert body["log"][1]["upserts"] == 5
    unknown = invoke(app, ["peers", "log", "99"])
    assert unknown.exit_code == 2 and "No peer 99" in unknown.output
