"""Peers in the UI, the API, the CLI and the signed endpoints, inside one test app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from app.cli import main
from app.federation.identity import instance_document, load_identity
from app.federation.signatures import sign_request
from app.queries.settings import get_setting
from tests.conftest import Browser
from tests.federation.helpers import add_peer, add_pictures, add_user


def _remote_picture(db: Any, peer_id: int, remote_id: str = "41") -> int:
    from app.federation.apply import apply_page
    from app.federation.remote import parse_page

    picture = {"id": remote_id, "sha256": "ab" * 32, "kind": "image", "mime": "image/jpeg",
               "width": 800, "height": 600, "size_bytes": 1234, "title": "far away",
               "created_at": "2026-01-02T03:04:05Z", "rating": "general",
               "tags": [{"name": "lighthouse", "category": "general", "confidence": 0.9}],
               "metadata": {"prompt": "a lighthouse", "model": "sdxl"},
               "url": f"http://origin.test/images/{remote_id}"}
    page = parse_page({"changes": [{"seq": 1, "op": "upsert", "picture": picture}],
                       "next_after": 1, "more": False}, cursor=0, limit=10,
                      base_url="http://origin.test")
    apply_page(db, peer_id, 0, page)
    return int(db.value("SELECT id FROM images WHERE remote_id = ?", (remote_id,)))


def test_remote_pictures_in_grid_page_and_api(app, db, alice: Browser) -> None:
    peer_id = add_peer(db)
    image_id = _remote_picture(db, peer_id)
    grid = alice.page("/")
    card = grid.select_one(f'figure[data-id="{image_id}"]')
    assert card.img["src"] == f"/proxy/{peer_id}/41/thumb"
    assert card.select_one(".remote").text == "Origin"
    assert not card.select("input[name=ids]")  # nobody here owns it

    page = alice.page(f"/images/{image_id}")
    origin = page.select_one(".origin")
    assert "Origin" in origin.text
    assert origin.a["href"] == "http://origin.test/images/41"
    assert page.select_one("#picture")["src"] == f"/proxy/{peer_id}/41/preview"
    assert not page.select("form[action$='/edit']") and not page.select("form[action$='/delete']")

    redirect = alice.client.get(f"/media/{image_id}/original")
    assert redirect.status_code == 302
    assert redirect.headers["Location"].endswith(f"/proxy/{peer_id}/41/original")

    detail = alice.client.get(f"/api/v1/images/{image_id}").get_json()
    assert detail["origin"] == {"peer": "Origin", "url": "http://origin.test/images/41"}
    assert detail["urls"]["thumb"] == f"/proxy/{peer_id}/41/thumb"
    assert [tag["source"] for tag in detail["tags"]] == ["remote"]
    results = alice.client.get("/api/v1/search?q=source:remote lighthouse").get_json()
    assert [row["id"] for row in results["results"]] == [image_id]
    assert results["results"][0]["origin"]["peer"] == "Origin"


def test_shadow_account_is_hidden_and_cannot_log_in(app, db, admin: Browser) -> None:
    peer_id = add_peer(db)
    _remote_picture(db, peer_id)
    shadow = db.one("SELECT u.* FROM users u JOIN peers p ON p.user_id = u.id")
    assert shadow["disabled"] == 1
    users = admin.page("/admin/users")
    assert shadow["username"] not in users.text
    outsider = Browser(app.test_client())
    assert outsider.login(shadow["username"], "!federation-shadow-account").status_code != 302


def test_admin_peers_page_lists_states_and_acts(app, db, admin: Browser, alice: Browser) -> None:
    following = add_peer(db)
    pending = add_peer(db, "http://fan.test", "Fan", following="none", follower="pending")
    _remote_picture(db, following)
    page = admin.page("/admin/users")
    assert page.find("a", string="Peers")["href"] == "/admin/peers"
    listing = admin.page("/admin/peers")
    rows = {row["data-peer"]: row for row in listing.select("#peers tr[data-peer]")}
    assert "approved" in rows[str(following)].text and "1" in rows[str(following)].text
    assert rows[str(pending)].select("button")[0].text == "Approve"

    # Approving tells the follower (it is unreachable: logged, the decision still stands).
    response = admin.post(f"/admin/peers/{pending}/approve")
    assert response.status_code == 302
    assert db.value("SELECT follower FROM peers WHERE id = ?", (pending,)) == "approved"
    detail = admin.page(f"/admin/peers/{following}")
    assert detail.select_one('[data-state="following"]').text == "approved"
    admin.post(f"/admin/peers/{following}/sync")
    assert db.value("SELECT count(*) FROM jobs WHERE kind = 'federation.sync'") == 1
    admin.post(f"/admin/peers/{following}/block")
    assert db.value("SELECT count(*) FROM images WHERE peer_id = ?", (following,)) == 0
    assert "blocked" in admin.page("/admin/peers").text

    admin.post("/admin/peers/settings", {"auto_approve": "1"})
    assert get_setting(db, "federation.auto_approve") is True
    assert alice.client.get("/admin/peers").status_code == 403


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://example.org", "http:// or https://"),
    ("http://user:pw@example.org", "no user name"),
    ("http://127.0.0.1:5000", "own address"),
])
def test_adding_a_bad_peer_address_is_refused(app, db, admin: Browser, url: str,
                                              message: str) -> None:
    response = admin.post("/admin/peers", {"url": url})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.value("SELECT count(*) FROM peers") == 0


def test_sharing_nsfw_preference_reannounces_the_owners_pictures(app, db, alice) -> None:
    owner = db.value("SELECT id FROM users WHERE username = 'alice'")
    nsfw, = add_pictures(db, owner, 1, rating="explicit")
    before = db.value("SELECT seq FROM federation_changes WHERE image_id = ?", (nsfw,))
    alice.post("/settings/preferences", {"default_visibility": "private",
                                         "federation_share_nsfw": "1"})
    prefs = json.loads(db.value("SELECT preferences FROM users WHERE id = ?", (owner,)))
    assert prefs["federation_share_nsfw"] is True
    assert db.value("SELECT seq FROM federation_changes WHERE image_id = ?", (nsfw,)) > before
    assert alice.page("/settings/").select_one("input[name=federation_share_nsfw]").has_attr(
        "checked")


def test_cli_lists_and_refuses_unknown_peers(app, db, runner) -> None:
    peer_id = add_peer(db, follower="pending")
    listed = json.loads(runner.invoke(["peers", "list", "--json"]).output)["peers"]
    assert [(p["id"], p["following"], p["follower"]) for p in listed] == [
        (peer_id, "approved", "pending")]
    refused = runner.runner.invoke(main, ["peers", "approve", "99"], obj=app)
    assert refused.exit_code == 2 and "No peer 99" in refused.output
    queued = runner.invoke(["peers", "sync", str(peer_id), "--queue"])
    assert "sync queued" in queued.output
    before = load_identity(app.config).key_id
    rotated = runner.invoke(["federation", "rotate-key"])
    after = load_identity(app.config)
    assert after.key_id != before and after.key_id in rotated.output
    assert [key.id for key in after.keys] == [after.key_id, before]


# -- the signed endpoints -------------------------------------------------------------


def _self_peer(app: Flask, db: Any, follower: str) -> None:
    """This instance as its own peer: requests it signs then verify here."""
    document = instance_document(app.config, load_identity(app.config))
    add_peer(db, document["base_url"], "self", follower=follower, keys=document["keys"])


def _signed_get(app: Flask, client: Any, path: str) -> Any:
    url = app.config["BASE_URL"] + path
    headers = sign_request(load_identity(app.config), "GET", url, {}, None)
    return client.get(path, headers=headers)


def test_changes_need_a_signature_and_an_approved_follower(app, db, client) -> None:
    owner = add_user(db, "carol")
    shared, = add_pictures(db, owner, 1)
    unsigned = client.get("/federation/v1/changes")
    assert unsigned.status_code == 401 and unsigned.get_json()["error"] == "signature rejected"
    assert _signed_get(app, client, "/federation/v1/changes").status_code == 401  # unknown key

    _self_peer(app, db, follower="pending")
    refused = _signed_get(app, client, "/federation/v1/changes")
    assert refused.status_code == 403
    assert refused.get_json() == {"error": "not approved", "state": "pending"}
    assert db.value("SELECT count(*) FROM federation_shared") == 0

    db.execute("UPDATE peers SET follower = 'approved'")
    assert _signed_get(app, client, "/federation/v1/changes?limit=501").status_code == 400
    page = _signed_get(app, client, "/federation/v1/changes?after=0&limit=10").get_json()
    assert [c["picture"]["id"] for c in page["changes"]] == [str(shared)]
    # The picture has no files (written straight to the database): 404, never a crash.
    assert _signed_get(app, client, f"/federation/v1/media/{shared}/thumb").status_code == 404
    db.execute("UPDATE images SET visibility = 'private'")
    assert _signed_get(app, client, f"/federation/v1/media/{shared}/thumb").status_code == 404


def test_media_endpoint_serves_shared_files_to_approved_followers(app, db, alice) -> None:
    from tests.conftest import jpeg_bytes

    upload = alice.upload(jpeg_bytes(), visibility="public").get_json()["images"][0]
    client = app.test_client()
    _self_peer(app, db, follower="approved")
    thumb = _signed_get(app, client, f"/federation/v1/media/{upload['id']}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"
    db.execute("UPDATE peers SET blocked = 1")
    assert _signed_get(app, client, f"/federation/v1/media/{upload['id']}/thumb"
                       ).status_code == 403
