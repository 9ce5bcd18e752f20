"""Favourites: any picture you may open, listed to you alone, through the visibility rules."""

from __future__ import annotations

from tests.conftest import Browser
from tests.organise.helpers import api


def _ids(body) -> list[int]:
    return [item["id"] for item in body["results"]]


def test_favourites_are_private_to_their_user(alice: Browser, bob: Browser, picture) -> None:
    public, own = picture("alice", "public"), picture("bob", "private")
    assert bob.post(f"/images/{public}/favourite", {"on": "1"}).status_code == 302
    assert api(bob, "POST", f"/api/v1/images/{own}/favourite").get_json()["favourite"] is True
    assert _ids(bob.client.get("/api/v1/favourites").get_json()) == [own, public]
    assert _ids(alice.client.get("/api/v1/favourites").get_json()) == []
    soup = bob.page("/favourites")
    assert [int(card["data-id"]) for card in soup.select("#grid .card")] == [own, public]
    assert alice.page("/favourites").select("#grid .card") == []


def test_only_pictures_you_may_open_can_be_favourited(alice: Browser, bob: Browser,
                                                     picture) -> None:
    hidden = picture("alice", "private")
    assert api(bob, "POST", f"/api/v1/images/{hidden}/favourite").status_code == 404
    assert bob.post(f"/images/{hidden}/favourite", {"on": "1"}).status_code == 404


def test_a_favourite_made_private_leaves_the_list(alice: Browser, bob: Browser, picture,
                                                  db) -> None:
    image_id = picture("alice", "public")
    api(bob, "POST", f"/api/v1/images/{image_id}/favourite")
    db.execute("UPDATE images SET visibility = 'private' WHERE id = ?", (image_id,))
    assert _ids(bob.client.get("/api/v1/favourites").get_json()) == []


def test_unfavourite_and_pages(bob: Browser, picture) -> None:
    ids = [picture("bob") for _ in range(3)]
    for image_id in ids:
        api(bob, "POST", f"/api/v1/images/{image_id}/favourite")
    first = bob.client.get("/api/v1/favourites?limit=2").get_json()
    assert _ids(first) == [ids[2], ids[1]] and first["next_cursor"] == ids[1]
    rest = bob.client.get(f"/api/v1/favourites?limit=2&cursor={ids[1]}").get_json()
    assert _ids(rest) == [ids[0]] and rest["next_cursor"] is None
    assert api(bob, "DELETE", f"/api/v1/images/{ids[0]}/favourite").get_json()[
        "favourite"] is False
    assert bob.post(f"/images/{ids[1]}/favourite", {"on": "0"}).status_code == 302
    assert _ids(bob.client.get("/api/v1/favourites").get_json()) == [ids[2]]
