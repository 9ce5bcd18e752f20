"""The tools API: list, run as a job, results as versions or downloads, who may see what."""

from __future__ import annotations

import io
import json

import numpy as np
import zxingcpp
from PIL import Image

from app.queries.settings import set_setting
from tests.conftest import jpeg_bytes, multipart
from tests.tools.infra import image_size, post_json, post_tool, run_jobs, run_status, upload


def test_list_gives_every_tool_with_its_settings_schema(alice) -> None:
    body = alice.client.get("/api/v1/tools").get_json()
    tools = {tool["id"]: tool for tool in body["tools"]}
    resize = tools["resize"]
    assert resize["category"] == "essentials" and resize["pipeline"] is True
    assert set(resize["settings"]["properties"]) >= {"width", "height", "fit", "percentage"}
    assert "resize" in next(c["tools"] for c in body["categories"] if c["id"] == "essentials")
    one = alice.client.get("/api/v1/tools/resize").get_json()
    assert one["settings"]["properties"]["fit"]["enum"] == ["contain", "cover", "fill",
                                                             "inside", "outside"]
    assert alice.client.get("/api/v1/tools/no-such-tool").status_code == 404


def test_run_on_my_picture_saves_a_new_version_linked_to_it(app, alice) -> None:
    source = upload(alice)
    response = post_tool(alice, "resize", {"image_id": str(source), "settings": {"width": 128}})
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    assert run_status(alice, job_id)["state"] == "queued"
    assert run_jobs(app) == 1

    run = run_status(alice, job_id)
    assert run["state"] == "succeeded", run
    (output,) = run["result"]["outputs"]
    assert output["name"] == "astronaut_resize.jpg" and output["mime"] == "image/jpeg"
    new_id = output["image_id"]
    picture = alice.client.get(f"/api/v1/images/{new_id}").get_json()
    assert (picture["width"], picture["height"]) == (128, 128)
    original = alice.client.get(f"/media/{new_id}/original").get_data()
    assert image_size(original) == (128, 128)
    db = app.extensions["salon.db"]
    version = db.one("SELECT * FROM image_versions WHERE image_id = ?", (new_id,))
    assert version["parent_id"] == source and version["tool_id"] == "resize"
    assert json.loads(version["settings"])["width"] == 128
    # the new picture is analysed like any upload
    assert db.value("SELECT count(*) FROM jobs WHERE kind = 'analyze' AND image_id = ?",
                    (new_id,)) == 1


def test_uploaded_file_download_only_result(app, alice) -> None:
    response = post_tool(alice, "resize", {"file": ("photo.jpg", jpeg_bytes((400, 300))),
                                           "settings": {"percentage": 50}})
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    run_jobs(app)
    (output,) = run_status(alice, job_id)["result"]["outputs"]
    assert "image_id" not in output
    download = alice.client.get(output["download_url"])
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert image_size(download.get_data()) == (200, 150)
    db = app.extensions["salon.db"]
    assert db.value("SELECT count(*) FROM images") == 0


def test_invalid_settings_name_each_field_and_change_nothing(app, alice) -> None:
    response = post_tool(alice, "resize", {"file": ("a.jpg", jpeg_bytes()),
                                           "settings": {"width": -3, "fit": "squash"}})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid settings"
    assert {item["field"] for item in body["fields"]} == {"width", "fit"}
    response = post_tool(alice, "resize", {"file": ("a.jpg", jpeg_bytes()), "settings": {}})
    assert response.status_code == 400
    assert "width, a height or a percentage" in response.get_json()["fields"][0]["message"]
    body, content_type = multipart({"file": ("a.jpg", jpeg_bytes()), "settings": "{nope"})
    bad_json = alice.client.post("/api/v1/tools/resize", data=body, content_type=content_type,
                                 headers={"X-CSRFToken": alice.csrf()})
    assert bad_json.status_code == 400 and bad_json.get_json()["fields"][0]["field"] == "settings"
    db = app.extensions["salon.db"]
    assert db.value("SELECT count(*) FROM jobs") == 0
    assert db.value("SELECT count(*) FROM tool_runs") == 0


def test_files_are_sniffed_not_trusted(alice) -> None:
    response = post_tool(alice, "resize", {"file": ("evil.jpg", b"<html><script>x</script>"),
                                           "settings": {"width": 10}})
    assert response.status_code == 415
    response = post_tool(alice, "resize", {"settings": {"width": 10}})
    assert response.status_code == 400 and response.get_json()["field"] == "file"


def test_another_user_cannot_use_my_picture_or_see_my_results(app, alice, bob) -> None:
    mine = upload(alice)
    response = post_tool(bob, "resize", {"image_id": str(mine), "settings": {"width": 64}})
    assert response.status_code == 404
    job_id = post_tool(alice, "resize", {"image_id": str(mine), "save": "download",
                                         "settings": {"width": 64}}).get_json()["job_id"]
    run_jobs(app)
    (output,) = run_status(alice, job_id)["result"]["outputs"]
    assert bob.client.get(f"/api/v1/tools/runs/{job_id}").status_code == 404
    assert bob.client.get(output["download_url"]).status_code == 404
    assert bob.client.get(f"/api/v1/tools/runs/{job_id}/zip").status_code == 404
    assert alice.client.get(output["download_url"]).status_code == 200


def test_a_public_picture_of_someone_else_gives_downloads_not_versions(app, alice, bob) -> None:
    picture = upload(alice)
    alice.client.patch(f"/api/v1/images/{picture}", json={"visibility": "public"},
                       headers={"X-CSRFToken": alice.csrf()})
    refused = post_tool(bob, "resize", {"image_id": str(picture), "save": "version",
                                        "settings": {"width": 32}})
    assert refused.status_code == 403
    job_id = post_tool(bob, "resize", {"image_id": str(picture),
                                       "settings": {"width": 32}}).get_json()["job_id"]
    run_jobs(app)
    (output,) = run_status(bob, job_id)["result"]["outputs"]
    assert "image_id" not in output


def test_disabled_tool_is_refused_and_hidden(app, db, alice) -> None:
    set_setting(db, "disabled_tools", ["resize"])
    assert "resize" not in {t["id"] for t in alice.client.get("/api/v1/tools").get_json()["tools"]}
    assert alice.client.get("/api/v1/tools/resize").status_code == 403
    response = post_tool(alice, "resize", {"file": ("a.jpg", jpeg_bytes()),
                                           "settings": {"width": 10}})
    assert response.status_code == 403 and "disabled" in response.get_json()["error"]


def test_admins_turn_tools_off_and_on_through_the_api(app, admin, alice) -> None:
    assert admin.client.get("/api/v1/tools/disabled").get_json() == {"disabled_tools": []}
    turned = post_json(admin, "/api/v1/tools/disabled",
                       {"disabled_tools": ["rotate", "resize"]}, method="PUT")
    assert turned.status_code == 200
    assert turned.get_json() == {"disabled_tools": ["resize", "rotate"]}
    listed = {t["id"] for t in alice.client.get("/api/v1/tools").get_json()["tools"]}
    assert "resize" not in listed and "crop" in listed
    for bad in ({"disabled_tools": ["no-such-tool"]}, {"disabled_tools": "resize"}, ["resize"]):
        refused = post_json(admin, "/api/v1/tools/disabled", bad, method="PUT")
        assert refused.status_code == 400 and refused.get_json()["field"] == "disabled_tools"
    assert admin.client.get("/api/v1/tools/disabled").get_json() == {
        "disabled_tools": ["resize", "rotate"]}  # a refused change changed nothing
    assert alice.client.get("/api/v1/tools/disabled").status_code == 403
    assert post_json(alice, "/api/v1/tools/disabled", {"disabled_tools": []},
                     method="PUT").status_code == 403
    assert app.test_client().get("/api/v1/tools/disabled").status_code == 401
    cleared = post_json(admin, "/api/v1/tools/disabled", {"disabled_tools": []}, method="PUT")
    assert cleared.get_json() == {"disabled_tools": []}


def test_a_tool_disabled_after_queueing_fails_its_job_with_the_reason(app, db, alice) -> None:
    job_id = post_tool(alice, "resize", {"file": ("a.jpg", jpeg_bytes()),
                                         "settings": {"width": 10}}).get_json()["job_id"]
    set_setting(db, "disabled_tools", ["resize"])
    run_jobs(app)
    run = run_status(alice, job_id)
    assert run["state"] == "failed" and "disabled" in run["error"]


def test_a_canvas_too_large_fails_the_job_with_a_clear_error(app, alice) -> None:
    job_id = post_tool(alice, "resize", {"file": ("a.jpg", jpeg_bytes()),
                                         "settings": {"width": 50000, "height": 50000,
                                                      "fit": "fill"}}).get_json()["job_id"]
    run_jobs(app)
    run = run_status(alice, job_id)
    assert run["state"] == "failed" and "pixels" in run["error"]


def test_cheap_tools_preview_synchronously_on_a_small_copy(alice) -> None:
    body, content_type = multipart({"file": ("a.jpg", jpeg_bytes((1600, 1200))),
                                    "settings": json.dumps({"percentage": 50})})
    response = alice.client.post("/api/v1/tools/resize/preview", data=body,
                                 content_type=content_type, headers={"X-CSRFToken": alice.csrf()})
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert image_size(response.get_data()) == (240, 180)  # 50 % of the 480-pixel copy


def _preview(user, tool_id: str, data: bytes, settings: dict) -> bytes:
    body, content_type = multipart({"file": ("a.png", data), "settings": json.dumps(settings)})
    response = user.client.post(f"/api/v1/tools/{tool_id}/preview", data=body,
                                content_type=content_type,
                                headers={"X-CSRFToken": user.csrf()})
    assert response.status_code == 200, response.get_json()
    return bytes(response.get_data())


def _quadrants(width: int, height: int) -> bytes:
    """Red, green / blue, white quadrants."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2, : width // 2] = (255, 0, 0)
    pixels[: height // 2, width // 2:] = (0, 255, 0)
    pixels[height // 2:, : width // 2] = (0, 0, 255)
    pixels[height // 2:, width // 2:] = (255, 255, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _share_of(image: Image.Image, colour: tuple[int, int, int]) -> float:
    """The share of pixels within 8 levels of ``colour`` (resampling the copy blends a
    few pixels at the quadrants' edges)."""
    pixels = np.asarray(image.convert("RGB")).astype(int)
    return float((np.abs(pixels - colour).max(axis=2) <= 8).mean())


def test_preview_scales_pixel_lengths_with_the_copy(alice) -> None:
    picture = _quadrants(2000, 1000)  # the preview copy is 480 × 240: lengths × 0.24
    framed = _preview(alice, "border", picture, {"borderWidth": 100, "borderColor": "#FF00FF"})
    with Image.open(io.BytesIO(framed)) as image:
        assert image.size == (480 + 2 * 24, 240 + 2 * 24)  # as wide, in proportion, as 100 px
        assert image.convert("RGB").getpixel((12, 120)) == (255, 0, 255)
        assert image.convert("RGB").getpixel((36, 60))[0] > 200  # the red quadrant
    # A crop in pixels of the full picture previews the same region of the copy.
    cropped = _preview(alice, "crop", picture,
                       {"left": 1000, "top": 500, "width": 1000, "height": 500})
    with Image.open(io.BytesIO(cropped)) as image:
        assert image.size == (240, 120)
        assert _share_of(image, (255, 255, 255)) > 0.97
    percent = _preview(alice, "crop", picture,
                       {"left": 0, "top": 50, "width": 50, "height": 50, "unit": "percent"})
    with Image.open(io.BytesIO(percent)) as image:
        assert image.size == (240, 120)
        assert _share_of(image, (0, 0, 255)) > 0.97


def test_a_tool_without_input_previews_too(alice) -> None:
    body, content_type = multipart({"settings": json.dumps({"text": "salon", "size": 4000})})
    response = alice.client.post("/api/v1/tools/qr-generate/preview", data=body,
                                 content_type=content_type, headers={"X-CSRFToken": alice.csrf()})
    assert response.status_code == 200 and response.mimetype == "image/png"
    with Image.open(io.BytesIO(response.get_data())) as image:
        assert image.size == (480, 480)  # the preview does not draw 4,000 pixels
        assert [code.text for code in zxingcpp.read_barcodes(image)] == ["salon"]
    body, content_type = multipart({"settings": json.dumps({"text": ""})})
    response = alice.client.post("/api/v1/tools/qr-generate/preview", data=body,
                                 content_type=content_type, headers={"X-CSRFToken": alice.csrf()})
    assert response.status_code == 400
    assert response.get_json()["fields"][0]["field"] == "text"


def test_openapi_documents_the_tool_routes(client) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/v1/tools", "/api/v1/tools/{tool_id}", "/api/v1/pipelines/{pipeline_id}/run",
            "/api/v1/tools/runs/{job_id}/zip"} <= set(paths)
    assert set(paths["/api/v1/tools/disabled"]) == {"get", "put"}


def test_an_uploaded_file_can_be_added_to_my_pictures(app, alice) -> None:
    job_id = post_tool(alice, "resize", {"file": ("photo.jpg", jpeg_bytes((400, 300))),
                                         "save": "version",
                                         "settings": {"width": 100}}).get_json()["job_id"]
    run_jobs(app)
    (output,) = run_status(alice, job_id)["result"]["outputs"]
    picture = alice.client.get(f"/api/v1/images/{output['image_id']}").get_json()
    assert (picture["width"], picture["height"]) == (100, 75)
    db = app.extensions["salon.db"]
    assert db.value("SELECT count(*) FROM image_versions") == 0  # no source picture to link


def test_data_tools_answer_with_data(app, alice) -> None:
    job_id = post_tool(alice, "info", {"file": ("photo.jpg", jpeg_bytes((320, 200)))}
                       ).get_json()["job_id"]
    run_jobs(app)
    run = run_status(alice, job_id)
    assert run["state"] == "succeeded", run
    assert "320" in json.dumps(run["result"]["data"])
