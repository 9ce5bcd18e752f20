"""The grid, pagination, search box, picture page, editing, bulk actions, deletion."""

from __future__ import annotations

from tests.conftest import Browser, jpeg_bytes


def _upload_many(user: Browser, count: int, **fields: str) -> list[int]:
    ids = []
    for index in range(count):
        data = jpeg_bytes((64 + index, 48), color=(index * 9 % 255, 40, 90))
        response = user.upload(data, f"pic-{index}.jpg", **fields)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["images"][0]["id"])
    return ids


def test_grid_is_newest_first_with_keyset_pages(app, alice: Browser) -> None:
    app.config["PAGE_SIZE"] = 4
    ids = _upload_many(alice, 6)
    first = alice.page("/mine")
    shown = [int(card["data-id"]) for card in first.select(".card")]
    assert shown == ids[::-1][:4]
    more = first.select_one("[data-more]")["href"]
    second = alice.page("/mine" + more + "&partial=1")
    assert [int(c["data-id"]) for c in second.select(".card")] == ids[::-1][4:]
    assert second.select_one("[data-more]") is None
    api = alice.client.get("/api/v1/images?mine=1&limit=5").get_json()
    assert api["next_cursor"] == ids[1]
    rest = alice.client.get(f"/api/v1/images?mine=1&limit=5&cursor={api['next_cursor']}")
    assert [item["id"] for item in rest.get_json()["results"]] == [ids[0]]


def test_bad_pagination_parameters_are_400(alice: Browser) -> None:
    assert alice.client.get("/api/v1/images?cursor=abc").status_code == 400
    assert alice.client.get("/api/v1/images?limit=0").status_code == 400
    assert alice.client.get("/?cursor=-1").status_code == 400


def test_search_box_matches_title_file_name_and_prompt(alice: Browser) -> None:
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lighthouse at dusk\nSteps: 20, Sampler: Euler a, CFG scale: 7,"
                                " Seed: 42, Size: 64x64, Model: dreamy")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(buffer, "PNG", pnginfo=info)
    prompt_id = alice.upload(buffer.getvalue(), "gen.png").get_json()["images"][0]["id"]
    titled = alice.upload(jpeg_bytes(), "IMG_0042.jpg", title="Harbour walk").get_json()
    titled_id = titled["images"][0]["id"]

    def found(query: str) -> list[int]:
        response = alice.client.get("/api/v1/search", query_string={"q": query})
        return [r["id"] for r in response.get_json()["results"]]

    assert found("lighthouse") == [prompt_id]
    assert found("harb") == [titled_id]  # prefix
    assert found("IMG_0042") == [titled_id]
    assert found('"unbalanced (quote OR') == []  # never a syntax error
    page = alice.page("/?q=lighthouse")
    assert [int(c["data-id"]) for c in page.select(".card")] == [prompt_id]


def test_picture_page_shows_metadata_and_neighbours(alice: Browser) -> None:
    ids = _upload_many(alice, 3, visibility="public")
    soup = alice.page(f"/images/{ids[1]}")
    article = soup.select_one("article.picture")
    assert article["data-newer"].startswith(f"/images/{ids[2]}")
    assert article["data-older"].startswith(f"/images/{ids[0]}")
    assert soup.select_one(f'a[href="/media/{ids[1]}/download"]')
    assert "pic-1.jpg" in soup.get_text()


def test_generation_parameters_on_the_picture_page(alice: Browser) -> None:
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "masterpiece, a red fox\nNegative prompt: blurry\nSteps: 28,"
                                " Sampler: DPM++ 2M, CFG scale: 6.5, Seed: 1234, Model: foxmix")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG", pnginfo=info)
    image_id = alice.upload(buffer.getvalue(), "fox.png").get_json()["images"][0]["id"]
    soup = alice.page(f"/images/{image_id}")
    assert soup.select_one("#prompt").get_text() == "masterpiece, a red fox"
    assert soup.select_one('[data-copy="#prompt"]')
    text = soup.get_text()
    assert "foxmix" in text and "1234" in text and "blurry" in text
    detail = alice.client.get(f"/api/v1/images/{image_id}").get_json()["metadata"]["generation"]
    assert detail["steps"] == 28 and detail["cfg_scale"] == 6.5


def test_edit_form_and_patch(alice: Browser) -> None:
    image_id = _upload_many(alice, 1)[0]
    response = alice.post(f"/images/{image_id}/edit",
                          {"title": "Sunset", "description": "warm", "visibility": "unlisted"})
    assert response.status_code == 302
    detail = alice.client.get(f"/api/v1/images/{image_id}").get_json()
    assert (detail["title"], detail["description"], detail["visibility"]) == \
        ("Sunset", "warm", "unlisted")
    headers = {"X-CSRFToken": alice.csrf()}
    bad = alice.client.patch(f"/api/v1/images/{image_id}", json={"visibility": "everyone"},
                             headers=headers)
    assert bad.status_code == 400 and bad.get_json()["field"] == "visibility"
    unknown = alice.client.patch(f"/api/v1/images/{image_id}", json={"owner_id": 2},
                                 headers=headers)
    assert unknown.status_code == 400
    ok = alice.client.patch(f"/api/v1/images/{image_id}", json={"title": "Dusk"}, headers=headers)
    assert ok.get_json()["title"] == "Dusk"


def test_bulk_visibility_and_delete(alice: Browser) -> None:
    ids = _upload_many(alice, 3)
    alice.post("/images/bulk", {"ids": [str(i) for i in ids[:2]], "action": "public"})
    visibilities = [alice.client.get(f"/api/v1/images/{i}").get_json()["visibility"] for i in ids]
    assert visibilities == ["public", "public", "private"]
    response = alice.client.post("/api/v1/images/bulk", headers={"X-CSRFToken": alice.csrf()},
                                 json={"ids": ids, "action": "delete"})
    assert response.get_json() == {"changed": 3}
    assert alice.client.get("/api/v1/images?mine=1").get_json()["results"] == []


def test_delete_leaves_tombstone_and_cleanup_removes_files(app, alice: Browser, runner,
                                                           db) -> None:
    image_id = _upload_many(alice, 1)[0]
    store = app.extensions["salon.media"]
    row = db.one("SELECT sha256, ext FROM images WHERE id = ?", (image_id,))
    original = store.original_path(row["sha256"], row["ext"])
    assert original.exists()
    alice.post(f"/images/{image_id}/delete")
    assert db.value("SELECT deleted_at FROM images WHERE id = ?", (image_id,)) is not None
    assert original.exists()  # files wait for the clean-up
    result = runner.invoke(args=["cleanup"])
    assert "removed 1" in result.output
    assert not original.exists()
    assert not store.derived_dir(row["sha256"]).exists()


def test_cleanup_keeps_files_another_user_still_uses(app, alice: Browser, bob: Browser,
                                                     runner, db) -> None:
    data = jpeg_bytes()
    first = alice.upload(data, "a.jpg").get_json()["images"][0]
    bob.upload(data, "b.jpg")
    alice.post(f"/images/{first['id']}/delete")
    runner.invoke(args=["cleanup"])
    row = db.one("SELECT ext FROM images WHERE id = ?", (first["id"],))
    assert app.extensions["salon.media"].original_path(first["sha256"], row["ext"]).exists()


def test_error_pages_are_html_for_browsers_and_json_for_the_api(alice: Browser) -> None:
    page = alice.client.get("/images/999", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "<h1>404</h1>" in page.get_data(as_text=True)
    api = alice.client.get("/api/v1/images/999")
    assert api.status_code == 404 and api.get_json() == {"error": "No such picture."}
