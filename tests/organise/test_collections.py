"""Collections: privacy (page, API, grid), adding, order, cover, editing, deleting."""

from __future__ import annotations

import pytest

from app import collections
from app.errors import BadRequest, NotFound
from tests.conftest import Browser
from tests.organise.helpers import api


def _card_ids(soup) -> list[int]:
    return [int(card["data-id"]) for card in soup.select("#grid figure.card")]


@pytest.fixture
def album(alice: Browser, bob: Browser, picture, db, user_id):
    """Alice's public collection holding a public and a private picture of hers."""
    shown, hidden = picture("alice", "public"), picture("alice", "private")
    collection_id = collections.create(db, user_id("alice"),
                                       {"title": "Holiday", "visibility": "public"})
    assert collections.add_pictures(db, collection_id, user_id("alice"), [shown, hidden]) == 2
    return {"id": collection_id, "shown": shown, "hidden": hidden}


def test_a_private_picture_in_a_public_collection_stays_hidden(alice: Browser, bob: Browser,
                                                               album) -> None:
    url = f"/collections/{album['id']}"
    assert _card_ids(bob.page(url)) == [album["shown"]]
    assert _card_ids(alice.page(url)) == [album["shown"], album["hidden"]]
    body = bob.client.get(f"/api/v1{url}").get_json()
    assert [item["id"] for item in body["results"]] == [album["shown"]]
    assert body["picture_count"] == 1
    partial = bob.client.get(f"{url}?partial=1").get_data(as_text=True)
    assert f'data-id="{album["hidden"]}"' not in partial
    assert f"/media/{album['hidden']}/" not in bob.client.get("/collections").get_data(
        as_text=True)


def test_private_collections_are_not_found_by_others(alice: Browser, bob: Browser, db,
                                                     user_id, picture) -> None:
    secret = collections.create(db, user_id("alice"), {"title": "Secret"})
    unlisted = collections.create(db, user_id("alice"), {"title": "Link only",
                                                         "visibility": "unlisted"})
    assert bob.client.get(f"/collections/{secret}").status_code == 404
    assert bob.client.get(f"/api/v1/collections/{secret}").status_code == 404
    assert bob.client.get(f"/collections/{unlisted}").status_code == 200
    titles = [c["title"] for c in bob.client.get("/api/v1/collections").get_json()["collections"]]
    assert titles == []
    mine = alice.client.get("/api/v1/collections?mine=1").get_json()["collections"]
    assert sorted(c["title"] for c in mine) == ["Link only", "Secret"]


def test_others_cannot_change_a_collection(bob: Browser, album) -> None:
    url = f"/api/v1/collections/{album['id']}"
    assert api(bob, "PATCH", url, {"title": "Mine now"}).status_code == 404
    assert api(bob, "DELETE", url).status_code == 404
    assert api(bob, "POST", f"{url}/images", {"remove": [album["shown"]]}).status_code == 404
    assert bob.post(f"/collections/{album['id']}/delete").status_code == 404


def test_bob_cannot_add_alices_private_picture(alice: Browser, bob: Browser, album,
                                               picture) -> None:
    created = api(bob, "POST", "/api/v1/collections", {"title": "Bob's", "visibility": "public"})
    assert created.status_code == 201
    url = f"/api/v1/collections/{created.get_json()['id']}/images"
    refused = api(bob, "POST", url, {"add": [album["hidden"]], "others": True}).get_json()
    assert refused == {"added": 0, "order": []}
    not_by_default = api(bob, "POST", url, {"add": [album["shown"]]}).get_json()
    assert not_by_default["added"] == 0
    allowed = api(bob, "POST", url, {"add": [album["shown"]], "others": True}).get_json()
    assert allowed == {"added": 1, "order": [album["shown"]]}


def test_order_and_moving(alice: Browser, album, picture, db, user_id) -> None:
    third = picture("alice", "public")
    url = f"/api/v1/collections/{album['id']}/images"
    assert api(alice, "POST", url, {"add": [third]}).get_json()["order"] == [
        album["shown"], album["hidden"], third]
    reordered = api(alice, "POST", url, {"order": [third, album["shown"]]}).get_json()
    assert reordered["order"] == [third, album["shown"], album["hidden"]]
    assert api(alice, "POST", url, {"order": [999999]}).status_code == 400
    alice.post(f"/collections/{album['id']}/items", {"action": "down", "ids": str(third)})
    assert collections.queries.item_ids(db, album["id"]) == [album["shown"], third,
                                                              album["hidden"]]
    soup = alice.page(f"/collections/{album['id']}")
    assert _card_ids(soup) == [album["shown"], third, album["hidden"]]


def test_cover_must_be_in_the_collection_and_visible(alice: Browser, bob: Browser, album, db,
                                                     user_id, picture) -> None:
    with pytest.raises(BadRequest):
        collections.set_cover(db, album["id"], user_id("alice"), picture("alice", "public"))
    alice.post(f"/collections/{album['id']}/items", {"action": "cover",
                                                     "ids": str(album["hidden"])})
    mine = alice.client.get(f"/api/v1/collections/{album['id']}").get_json()
    assert mine["cover"]["id"] == album["hidden"]
    theirs = bob.client.get(f"/api/v1/collections/{album['id']}").get_json()
    assert theirs["cover"]["id"] == album["shown"]  # the private cover is replaced
    assert f"/media/{album['hidden']}/" not in bob.client.get("/collections").get_data(
        as_text=True)
    bob_album = collections.create(db, user_id("bob"), {"title": "B"})
    collections.add_pictures(db, bob_album, user_id("bob"), [album["shown"]], others=True)
    with pytest.raises(NotFound):
        collections.set_cover(db, album["id"], user_id("bob"), album["shown"])


def test_removing_the_cover_clears_it(alice: Browser, album, db, user_id) -> None:
    collections.set_cover(db, album["id"], user_id("alice"), album["shown"])
    api(alice, "POST", f"/api/v1/collections/{album['id']}/images", {"remove": [album["shown"]]})
    row = collections.owned(db, album["id"], user_id("alice"))
    assert row["cover_image_id"] is None


def test_create_edit_and_delete_pages(alice: Browser, db, picture) -> None:
    refused = alice.post("/collections", {"title": "  ", "description": "kept"})
    assert refused.status_code == 400
    assert "kept" in refused.get_data(as_text=True)
    created = alice.post("/collections", {"title": "Cats", "visibility": "unlisted"})
    assert created.status_code == 302
    collection_id = int(created.headers["Location"].rsplit("/", 1)[1])
    bad = alice.post(f"/collections/{collection_id}", {"title": "Dogs", "visibility": "secret"})
    assert bad.status_code == 400 and 'value="Dogs"' in bad.get_data(as_text=True)
    assert alice.post(f"/collections/{collection_id}", {"title": "Dogs"}).status_code == 302
    assert "Dogs" in alice.page(f"/collections/{collection_id}").h1.get_text()
    assert alice.post(f"/collections/{collection_id}/delete").status_code == 302
    assert alice.client.get(f"/collections/{collection_id}").status_code == 404


def test_picture_page_panel_adds_to_a_collection(alice: Browser, bob: Browser, album,
                                                 picture) -> None:
    bobs = api(bob, "POST", "/api/v1/collections", {"title": "Faves"}).get_json()["id"]
    response = bob.post("/collections/add", {"collection_id": str(bobs),
                                             "ids": str(album["shown"]), "next": "/"})
    assert response.status_code == 302
    assert api(bob, "POST", f"/api/v1/collections/{bobs}/images", {}).get_json()["order"] == [
        album["shown"]]
    hidden = bob.post("/collections/add", {"collection_id": str(bobs),
                                           "ids": str(album["hidden"])})
    assert hidden.status_code == 302
    assert api(bob, "POST", f"/api/v1/collections/{bobs}/images", {}).get_json()["order"] == [
        album["shown"]]


def test_organise_partial_for_the_picture_page(app, bob: Browser, album, db) -> None:
    from flask import render_template
    from flask_login import login_user

    from app.auth.session import User

    bobs = api(bob, "POST", "/api/v1/collections", {"title": "Faves"}).get_json()["id"]
    row = db.one("SELECT * FROM users WHERE username = 'bob'")
    with app.test_request_context(f"/images/{album['shown']}"):
        login_user(User(row))
        html = render_template("gallery/_organise.html", image={"id": album["shown"]})
    assert f'action="/images/{album["shown"]}/favourite"' in html
    assert f'<option value="{bobs}">Faves</option>' in html


def test_anonymous_visitors_of_a_public_gallery(app, alice: Browser, album, db) -> None:
    from app.queries.settings import set_setting

    with db.transaction():
        set_setting(db, "public_gallery", True)
    client = app.test_client()
    soup = Browser(client).page(f"/collections/{album['id']}")
    assert _card_ids(soup) == [album["shown"]]
    assert client.get("/api/v1/collections").get_json()["collections"][0]["picture_count"] == 1
