"""A second user must not see, fetch, edit or delete the first user's private picture."""

from __future__ import annotations

import pytest

from tests.conftest import Browser, jpeg_bytes


@pytest.fixture
def private_id(alice: Browser) -> int:
    response = alice.upload(jpeg_bytes(), "secret.jpg", visibility="private", title="secret")
    assert response.status_code == 201
    return response.get_json()["images"][0]["id"]


ROUTES = ["/images/{id}", "/api/v1/images/{id}", "/media/{id}/original", "/media/{id}/thumb",
          "/media/{id}/preview", "/media/{id}/download"]


@pytest.mark.parametrize("route", ROUTES)
def test_other_user_gets_404_everywhere(bob: Browser, private_id: int, route: str) -> None:
    assert bob.client.get(route.format(id=private_id)).status_code == 404


@pytest.mark.parametrize("route", ROUTES)
def test_owner_gets_200_everywhere(alice: Browser, private_id: int, route: str) -> None:
    assert alice.client.get(route.format(id=private_id)).status_code == 200


def test_other_user_cannot_edit_or_delete(bob: Browser, alice: Browser, private_id: int) -> None:
    url = f"/api/v1/images/{private_id}"
    headers = {"X-CSRFToken": bob.csrf()}
    assert bob.client.patch(url, json={"visibility": "public"}, headers=headers).status_code == 404
    assert bob.client.delete(url, headers=headers).status_code == 404
    assert bob.post(f"/images/{private_id}/edit", {"title": "pwned"}).status_code == 404
    assert bob.post(f"/images/{private_id}/delete").status_code == 404
    bulk = bob.client.post("/api/v1/images/bulk", headers=headers,
                           json={"ids": [private_id], "action": "visibility",
                                 "visibility": "public"})
    assert bulk.get_json() == {"changed": 0}
    bob.post("/images/bulk", {"ids": str(private_id), "action": "delete"})
    detail = alice.client.get(url).get_json()
    assert detail["visibility"] == "private"
    assert detail["title"] == "secret"


def _upload_id(user: Browser, name: str, visibility: str, **kwargs) -> int:
    response = user.upload(jpeg_bytes(**kwargs), name, visibility=visibility)
    return response.get_json()["images"][0]["id"]


def test_private_picture_absent_from_every_listing(bob: Browser, alice: Browser,
                                                   private_id: int) -> None:
    for url in ("/api/v1/images", "/api/v1/search?q=secret", "/api/v1/images?mine=1"):
        ids = [item["id"] for item in bob.client.get(url).get_json()["results"]]
        assert private_id not in ids, url
    assert f"/images/{private_id}" not in bob.client.get("/?q=secret").get_data(as_text=True)
    assert f"/media/{private_id}/" not in bob.client.get("/").get_data(as_text=True)
    ids = [item["id"] for item in alice.client.get("/api/v1/search?q=secret").get_json()["results"]]
    assert ids == [private_id]


def test_unlisted_is_reachable_by_link_but_not_listed(bob: Browser, alice: Browser) -> None:
    image_id = _upload_id(alice, "u.jpg", "unlisted")
    assert bob.client.get(f"/images/{image_id}").status_code == 200
    assert bob.client.get(f"/media/{image_id}/original").status_code == 200
    assert image_id not in [i["id"] for i in bob.client.get("/api/v1/images").get_json()["results"]]


def test_public_is_listed_for_others(bob: Browser, alice: Browser) -> None:
    image_id = _upload_id(alice, "p.jpg", "public")
    assert image_id in [i["id"] for i in bob.client.get("/api/v1/images").get_json()["results"]]


def test_gps_is_shown_only_to_the_owner(bob: Browser, alice: Browser) -> None:
    from PIL import Image

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 22.0, 12.0), 3: "E", 4: (4.0, 53.0, 24.0)})
    upload = alice.upload(jpeg_bytes(exif=exif.tobytes()), "gps.jpg", visibility="public")
    image_id = upload.get_json()["images"][0]["id"]
    mine = alice.client.get(f"/api/v1/images/{image_id}").get_json()["metadata"]["gps"]
    assert mine["latitude"] == pytest.approx(52.37, abs=0.01)
    assert bob.client.get(f"/api/v1/images/{image_id}").get_json()["metadata"]["gps"] is None
    assert "52.3" not in bob.client.get(f"/images/{image_id}").get_data(as_text=True)


def test_anonymous_sees_nothing_until_the_gallery_is_public(app, alice: Browser, db) -> None:
    from app.queries.settings import set_setting

    public_id = _upload_id(alice, "p.jpg", "public")
    alice.upload(jpeg_bytes(color=(1, 2, 3)), "q.jpg", visibility="private")
    visitor = app.test_client()
    assert visitor.get("/").status_code == 302
    assert visitor.get(f"/media/{public_id}/thumb").status_code == 302
    set_setting(db, "public_gallery", True)
    results = visitor.get("/api/v1/images").get_json()["results"]
    assert [item["id"] for item in results] == [public_id]
    assert visitor.get(f"/media/{public_id}/thumb").status_code == 200
    assert visitor.get("/mine").status_code == 302
    assert visitor.post("/api/v1/images").status_code == 401


def test_deleted_picture_disappears_for_its_owner_too(alice: Browser, private_id: int) -> None:
    assert alice.client.delete(f"/api/v1/images/{private_id}",
                               headers={"X-CSRFToken": alice.csrf()}).status_code == 204
    assert alice.client.get(f"/api/v1/images/{private_id}").status_code == 404
    assert alice.client.get(f"/media/{private_id}/original").status_code == 404


def test_tag_names_of_private_pictures_are_never_suggested_to_others(alice: Browser,
                                                                     bob: Browser) -> None:
    secret = _upload_id(alice, "s.jpg", "private")
    shown = _upload_id(alice, "p.jpg", "public", color=(9, 9, 9))
    headers = {"X-CSRFToken": alice.csrf()}
    alice.client.post(f"/api/v1/images/{secret}/tags", headers=headers,
                      json={"add": ["secret affair", "sea"]})
    alice.client.post(f"/api/v1/images/{shown}/tags", headers=headers, json={"add": ["sea"]})
    bob_sees = bob.client.get("/api/v1/tags?prefix=se").get_json()["tags"]
    assert bob_sees == [{"name": "sea", "category": "general", "count": 1}]
    alice_sees = {t["name"]: t["count"] for t in
                  alice.client.get("/api/v1/tags?prefix=se").get_json()["tags"]}
    assert alice_sees == {"sea": 2, "secret affair": 1}


def test_a_tag_only_on_hidden_pictures_does_not_exist_for_others(alice: Browser,
                                                                 bob: Browser) -> None:
    secret = _upload_id(alice, "s.jpg", "private")
    alice.client.post(f"/api/v1/images/{secret}/tags", headers={"X-CSRFToken": alice.csrf()},
                      json={"add": ["secret affair"]})
    hidden = bob.client.get("/api/v1/tags/secret affair")
    missing = bob.client.get("/api/v1/tags/never used")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"] == "No tag named 'secret affair'."
    assert bob.client.get("/tags/secret affair").status_code == 404
    assert alice.client.get("/api/v1/tags/secret affair").get_json()["count"] == 1
