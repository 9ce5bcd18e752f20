"""Remote pictures as a new user meets them: their file name travels with the feed, their
page offers no tools and no analysis, the tools API refuses them, and the peer page reads
in sentence case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from app.federation.apply import apply_page
from app.federation.feed import FILE_NAME_MAX, changes_page, display_name
from app.federation.remote import FeedError, parse_page
from tests.conftest import Browser, jpeg_bytes
from tests.federation.helpers import add_pictures, add_user

ORIGIN = "http://origin.test"


def _peer(db: Any) -> int:
    with db.transaction():
        return db.execute("INSERT INTO peers (base_url, name, following) VALUES (?, 'Origin',"
                          " 'approved')", (ORIGIN,))


def _picture(remote_id: str = "41", **fields: Any) -> dict[str, Any]:
    return {"id": remote_id, "sha256": "ab" * 32, "kind": "image", "mime": "image/jpeg",
            "width": 800, "height": 600, "size_bytes": 1234, "title": "",
            "created_at": "2026-01-02T03:04:05Z", "rating": "general",
            "tags": [{"name": "lighthouse", "category": "general", "confidence": 0.9}],
            "url": f"{ORIGIN}/images/{remote_id}", **fields}


def _page(*pictures: dict[str, Any]) -> dict[str, Any]:
    return {"changes": [{"seq": n, "op": "upsert", "picture": picture}
                        for n, picture in enumerate(pictures, 1)],
            "next_after": len(pictures), "more": False}


def _store(db: Any, peer_id: int, *pictures: dict[str, Any]) -> None:
    cursor = db.value("SELECT cursor FROM peers WHERE id = ?", (peer_id,))
    page = parse_page(_page(*pictures), cursor=0, limit=10, base_url=ORIGIN)
    apply_page(db, peer_id, cursor, page)


def _remote_id(db: Any, remote_id: str) -> int:
    return int(db.value("SELECT id FROM images WHERE remote_id = ?", (remote_id,)))


# -- file names -------------------------------------------------------------------------


@pytest.mark.parametrize(("stored", "shown"), [
    ("sunset.png", "sunset.png"),
    ("holidays/2025/beach day.jpg", "beach day.jpg"),
    ("C:\\Users\\me\\Pictures\\cat.webp", "cat.webp"),
    ("bell\x07\x1b[31m.png", "bell[31m.png"),
    ("../../etc/passwd", "passwd"),
    ("", ""),
    (None, ""),
])
def test_display_name_drops_folders_and_control_characters(stored: Any, shown: str) -> None:
    assert display_name(stored) == shown


def test_display_name_is_capped_and_keeps_the_extension() -> None:
    cut = display_name("x" * 500 + ".jpeg")
    assert len(cut) == FILE_NAME_MAX and cut.endswith("x.jpeg")
    assert len(display_name("y" * 500)) == FILE_NAME_MAX


def test_the_feed_carries_the_display_name(app: Flask, db: Any) -> None:
    owner = add_user(db, "carol")
    plain, = add_pictures(db, owner, 1, file_name="portrait.png")
    nested, = add_pictures(db, owner, 1, file_name="renders/final/" + "n" * 300 + ".png")
    page = changes_page(db, after=0, limit=10, share_nsfw=False, base_url=ORIGIN)
    names = {change["picture"]["id"]: change["picture"]["file_name"]
             for change in page["changes"]}
    assert names[str(plain)] == "portrait.png"
    assert names[str(nested)] == "n" * (FILE_NAME_MAX - 4) + ".png"
    # What the feed sends is what a follower accepts.
    parse_page(json.loads(json.dumps(page)), cursor=0, limit=10, base_url=ORIGIN)


def test_the_follower_stores_the_file_name(app: Flask, db: Any) -> None:
    peer_id = _peer(db)
    _store(db, peer_id, _picture("41", file_name="sunset.png"), _picture("42"))
    assert db.value("SELECT file_name FROM images WHERE remote_id = '41'") == "sunset.png"
    # An older peer that sends no file name: the name made from the remote id, as before.
    assert db.value("SELECT file_name FROM images WHERE remote_id = '42'") == "42.jpg"


@pytest.mark.parametrize("bad", ["../secret.png", "a\\b.png", "new\nline.png", "nul\x00.png",
                                 "z" * (FILE_NAME_MAX + 1), 42, None])
def test_a_bad_file_name_refuses_the_page(app: Flask, db: Any, bad: Any) -> None:
    with pytest.raises(FeedError, match="file_name"):
        parse_page(_page(_picture("41", file_name=bad)), cursor=0, limit=10, base_url=ORIGIN)


# -- the picture page -------------------------------------------------------------------


def test_remote_picture_page_has_no_tools_or_analysis(app: Flask, db: Any,
                                                      alice: Browser) -> None:
    peer_id = _peer(db)
    _store(db, peer_id, _picture("41", file_name="sunset.png"))
    page = alice.page(f"/images/{_remote_id(db, '41')}")
    assert page.h1.text == "sunset.png"
    assert page.title.text.startswith("sunset.png")
    assert not page.select("#picture-tools") and "Tools" not in page.select_one(".panel").text
    assert not page.select("#analysis") and "Not analysed yet" not in page.text
    assert page.select_one("#remote-source").text.strip() == "Tags and rating from Origin."
    assert "lighthouse" in page.select_one(".panel").text  # the peer's tags are shown

    # A local picture still has both.
    local = alice.upload(jpeg_bytes(), visibility="public").get_json()["images"][0]["id"]
    mine = alice.page(f"/images/{local}")
    assert mine.select("#picture-tools") and mine.select("#analysis")
    assert not mine.select("#remote-source")


# -- the tools refuse remote pictures ---------------------------------------------------


def _post_json(user: Browser, url: str, body: Any) -> Any:
    return user.client.post(url, json=body, headers={"X-CSRFToken": user.csrf()})


def test_tools_api_refuses_a_remote_picture(app: Flask, db: Any, alice: Browser) -> None:
    peer_id = _peer(db)
    _store(db, peer_id, _picture("41"))
    remote = _remote_id(db, "41")
    jobs_before = db.value("SELECT count(*) FROM jobs")
    for url in ("/api/v1/tools/rotate", "/api/v1/tools/rotate/preview"):
        refused = _post_json(alice, url, {"image_id": remote, "settings": {"angle": 90}})
        assert refused.status_code == 400, refused.get_json()
        body = refused.get_json()
        assert body["field"] == "image_id"
        assert "remote picture from Origin" in body["error"]
    assert db.value("SELECT count(*) FROM jobs") == jobs_before
    assert db.value("SELECT count(*) FROM tool_runs") == 0

    local = alice.upload(jpeg_bytes(), visibility="public").get_json()["images"][0]["id"]
    accepted = _post_json(alice, "/api/v1/tools/rotate",
                          {"image_id": local, "settings": {"angle": 90}})
    assert accepted.status_code == 202, accepted.get_json()


def test_pipeline_batches_refuse_remote_pictures(app: Flask, db: Any, alice: Browser) -> None:
    peer_id = _peer(db)
    _store(db, peer_id, _picture("41"))
    remote = _remote_id(db, "41")
    local = alice.upload(jpeg_bytes(), visibility="public").get_json()["images"][0]["id"]
    pipeline = _post_json(alice, "/api/v1/pipelines", {
        "name": "turn", "steps": [{"tool": "rotate", "settings": {"angle": 90}}]}).get_json()
    url = f"/api/v1/pipelines/{pipeline['id']}/run"
    for selection in ({"image_ids": [local, remote]}, {"query": "lighthouse"}):
        refused = _post_json(alice, url, {**selection, "mode": "zip"})
        assert refused.status_code == 400, refused.get_json()
        assert "remote picture" in refused.get_json()["error"]
    assert db.value("SELECT count(*) FROM tool_runs") == 0
    done = _post_json(alice, url, {"query": "lighthouse source:local", "mode": "zip"})
    assert done.status_code == 400 and "No pictures" in done.get_json()["error"]


# -- the peer page ----------------------------------------------------------------------


def test_peer_page_labels_are_in_sentence_case(app: Flask, db: Any, make_user: Any) -> None:
    make_user("root", role="admin")
    admin = Browser(app.test_client())
    assert admin.login("root").status_code == 302
    peer_id = _peer(db)
    page = admin.page(f"/admin/peers/{peer_id}")
    states = page.select_one("#peer-states")
    assert "sentence-case" in states["class"]
    assert [dt.text for dt in states.select("dt")][:2] == ["We follow them", "They follow us"]
    css = admin.client.get("/static/css/salon.css").get_data(as_text=True)
    assert ".facts.sentence-case dt { text-transform: none; }" in css
