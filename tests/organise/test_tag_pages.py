"""Tag pages with related tags, the admin's tag list, and the tag API; admins only for changes."""

from __future__ import annotations

import pytest

from app.tagging import edit_tags
from tests.conftest import Browser
from tests.organise.helpers import api, count_of, tag_names


@pytest.fixture
def tagged(alice: Browser, bob: Browser, picture, db) -> dict[str, int]:
    shown, hidden = picture("alice", "public"), picture("alice", "private")
    edit_tags(db, shown, ["cat", "sunset"], [])
    edit_tags(db, hidden, ["cat", "secret place"], [])
    return {"shown": shown, "hidden": hidden}


def test_tag_page_counts_and_relates_over_visible_pictures(alice: Browser, bob: Browser,
                                                           tagged) -> None:
    soup = bob.page("/tags/cat")
    assert "1 picture" in soup.h1.get_text()
    assert [li["data-tag"] for li in soup.select("#related .tag")] == ["sunset"]
    assert [int(card["data-id"]) for card in soup.select("#grid .card")] == [tagged["shown"]]
    own = alice.page("/tags/cat")
    assert [li["data-tag"] for li in own.select("#related .tag")] == ["secret place", "sunset"]
    body = bob.client.get("/api/v1/tags/cat").get_json()
    assert body["visible_count"] == 1 and body["related"] == [
        {"name": "sunset", "category": "general", "count": 1}]
    assert bob.client.get("/tags/no such tag").status_code == 404


def test_tag_page_follows_aliases_and_spelling(root: Browser, bob: Browser, tagged) -> None:
    api(root, "POST", "/api/v1/tags/cat/alias", {"alias": "kitty"})
    assert bob.client.get("/tags/kitty").headers["Location"] == "/tags/cat"
    assert bob.client.get("/tags/Cat").headers["Location"] == "/tags/cat"


def test_tag_names_with_slashes_route(root: Browser, alice: Browser, picture, db) -> None:
    image_id = picture("alice")
    edit_tags(db, image_id, ["fate/stay night"], [])
    assert alice.page("/tags/fate/stay%20night").h1 is not None
    response = api(root, "POST", "/api/v1/tags/fate/stay night/category",
                   {"category": "copyright"})
    assert response.get_json()["category"] == "copyright"


def test_admin_tag_actions_need_an_admin(alice: Browser, tagged) -> None:
    assert alice.client.get("/admin/tags").status_code == 403
    assert alice.post("/admin/tags", {"name": "cat", "action": "delete"}).status_code == 403
    for action, body in [("rename", {"to": "dog"}), ("merge", {"into": "sunset"}),
                         ("alias", {"alias": "kitty"}), ("implication", {"implies": "pet"}),
                         ("category", {"category": "meta"})]:
        assert api(alice, "POST", f"/api/v1/tags/cat/{action}", body).status_code == 403
    assert api(alice, "DELETE", "/api/v1/tags/cat").status_code == 403
    assert alice.client.get("/api/v1/tags/cat").get_json()["count"] == 2


def test_admin_page_lists_and_changes_tags(root: Browser, tagged, db) -> None:
    soup = root.page("/admin/tags?q=c")
    assert [row.td.get_text() for row in soup.select("table.list tbody tr")] == ["cat"]
    response = root.post("/admin/tags", {"name": "cat", "action": "imply", "value": "animal"})
    assert response.status_code == 302
    assert tag_names(db, tagged["shown"]) == ["animal", "cat", "sunset"]
    refused = root.post("/admin/tags", {"name": "animal", "action": "imply", "value": "cat"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "cycle" in page and 'value="animal"' in page
    assert root.post("/admin/tags", {"name": "sunset", "action": "delete"}).status_code == 302
    assert count_of(db, "sunset") is None


def test_tag_api_changes(root: Browser, tagged, db) -> None:
    renamed = api(root, "POST", "/api/v1/tags/secret place/rename", {"to": "hideout"})
    assert renamed.get_json()["aliases"] == ["secret place"]
    merged = api(root, "POST", "/api/v1/tags/hideout/merge", {"into": "cat"}).get_json()
    assert merged["name"] == "cat" and merged["count"] == 2
    assert sorted(merged["aliases"]) == ["hideout", "secret place"]
    removed = api(root, "POST", "/api/v1/tags/cat/alias", {"alias": "hideout", "remove": True})
    assert removed.get_json()["aliases"] == ["secret place"]
    api(root, "POST", "/api/v1/tags/cat/implication", {"implies": "animal"})
    undone = api(root, "POST", "/api/v1/tags/cat/implication",
                 {"implies": "animal", "remove": True})
    assert undone.get_json()["implies"] == []
    assert api(root, "POST", "/api/v1/tags/cat/category", {"category": "x"}).status_code == 400
    deleted = api(root, "DELETE", "/api/v1/tags/cat").get_json()
    assert deleted == {"deleted": "cat", "pictures": 2}
    assert api(root, "POST", "/api/v1/tags/cat/rename", {"to": "x"}).status_code == 404
