"""Bulk actions from the grid and the API, including "all matching this search"."""

from __future__ import annotations

from app import collections
from tests.conftest import Browser
from tests.organise.helpers import api, tag_names


def test_bulk_tags_only_touch_the_owners_pictures(alice: Browser, bob: Browser, picture,
                                                  db) -> None:
    mine, theirs = picture("alice"), picture("bob", "public")
    alice.post("/images/bulk", {"ids": [str(mine), str(theirs)], "action": "tag",
                                "tags": "sunset, beach"})
    assert tag_names(db, mine) == ["beach", "sunset"] and tag_names(db, theirs) == []
    response = api(alice, "POST", "/api/v1/images/bulk",
                   {"ids": [mine, theirs], "action": "untag", "tags": ["beach"]})
    assert response.get_json() == {"changed": 1}
    assert tag_names(db, mine) == ["sunset"]
    assert api(alice, "POST", "/api/v1/images/bulk",
               {"ids": [mine], "action": "tag", "tags": []}).status_code == 400


def test_bulk_add_to_collection(alice: Browser, picture, db, user_id) -> None:
    ids = [picture("alice"), picture("alice")]
    album = collections.create(db, user_id("alice"), {"title": "A"})
    alice.post("/images/bulk", {"ids": [str(i) for i in ids], "action": "collect",
                                "collection_id": str(album)})
    assert collections.queries.item_ids(db, album) == ids


def test_bulk_into_someone_elses_collection_is_not_found(alice: Browser, bob: Browser,
                                                         picture, db, user_id) -> None:
    album = collections.create(db, user_id("alice"), {"title": "A"})
    response = api(bob, "POST", "/api/v1/images/bulk",
                   {"ids": [picture("bob")], "action": "collect", "collection_id": album})
    assert response.status_code == 404


def test_all_matching_a_search_resolves_on_the_server(alice: Browser, bob: Browser,
                                                      picture, db) -> None:
    sunsets = [picture("alice", title=f"sunset {n}") for n in range(3)]
    picture("alice", title="harbour")
    bobs = picture("bob", "public", title="sunset too")
    count = alice.client.get("/api/v1/images/matching?q=sunset").get_json()
    assert count == {"count": 4, "capped": False, "cap": 1000}
    alice.post("/images/bulk", {"all": "1", "q": "sunset", "scope": "", "action": "public"})
    visibility = {row["id"]: row["visibility"] for row in db.all("SELECT id, visibility"
                                                                 " FROM images")}
    assert [visibility[i] for i in sunsets] == ["public"] * 3
    assert visibility[bobs] == "public" and list(visibility.values()).count("private") == 1
    response = api(alice, "POST", "/api/v1/images/bulk",
                   {"all": True, "query": "sunset", "mine": True, "action": "tag",
                    "tags": ["golden hour"]})
    assert response.get_json() == {"changed": 3, "selected": 3}
    assert tag_names(db, bobs) == []


def test_bob_cannot_act_on_alices_matches(alice: Browser, bob: Browser, picture, db) -> None:
    hidden = picture("alice", "private", title="sunset")
    shown = picture("alice", "public", title="sunset")
    response = api(bob, "POST", "/api/v1/images/bulk",
                   {"all": True, "query": "sunset", "action": "delete"})
    assert response.get_json() == {"changed": 0, "selected": 1}
    assert db.value("SELECT count(*) FROM images WHERE deleted_at IS NULL"
                    " AND id IN (?, ?)", (hidden, shown)) == 2


def test_grid_offers_select_all(alice: Browser, picture) -> None:
    picture("alice")
    soup = alice.page("/mine?q=p")
    form = soup.select_one("#bulk-form")
    assert soup.select_one("[data-select-all]") is not None
    assert form["data-matching"].startswith("/api/v1/images/matching?")
    assert {button["value"] for button in form.select("button[name=action]")} >= {
        "public", "unlisted", "private", "reanalyze", "delete", "tag", "untag"}
    assert form.select_one("input[name=scope]")["value"] == "mine"
