"""The ML pipeline end to end with models the tests build: upload → analyze job →
tags, rating and caption in the API, the page and search; missing models block."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from PIL import Image

from app.jobs.queue import Queue
from app.queries.settings import set_setting
from tests.conftest import Browser, sample_photo
from tests.jobs.test_analysis import run_jobs


def _png(color: str, size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def _detail(user: Browser, image_id: int) -> dict:
    return user.client.get(f"/api/v1/images/{image_id}").get_json()


def _upload(user: Browser, data: bytes, name: str, **fields: str) -> int:
    return user.upload(data, name, **fields).get_json()["images"][0]["id"]


def test_red_and_blue_pictures_get_their_own_tags(app, alice: Browser, tiny_models) -> None:
    red, blue = _upload(alice, _png("#ff0000"), "red.png"), _upload(alice, _png("#0000ff"),
                                                                     "blue.png")
    assert run_jobs(app) == 2
    red_tags = {t["name"]: t for t in _detail(alice, red)["tags"]}
    blue_tags = {t["name"]: t for t in _detail(alice, blue)["tags"]}
    assert "red theme" in red_tags and "red theme" not in blue_tags
    assert "blue theme" in blue_tags and "blue theme" not in red_tags
    assert red_tags["red theme"]["source"] == "wd14"
    assert 0.35 < red_tags["red theme"]["confidence"] <= 1
    detail = _detail(alice, red)
    assert detail["analysis"]["state"] == "done"
    assert detail["rating"] in ("general", "sensitive", "questionable", "explicit")
    assert detail["caption"]
    page = alice.page(f"/images/{red}")
    assert "red theme" in [li["data-tag"] for li in page.select(".tag-list li[data-tag]")]
    found = alice.client.get("/api/v1/search?q=red theme").get_json()["results"]
    assert [item["id"] for item in found] == [red]


def test_missing_models_block_only_their_steps_then_resume(app, alice: Browser, db,
                                                           tmp_path) -> None:
    from ml import install
    from ml.testing import build_tiny_wd14

    image_id = _upload(alice, sample_photo("astronaut"), "a.jpg")
    run_jobs(app)
    analysis = _detail(alice, image_id)["analysis"]
    states = {step["name"]: step for step in analysis["steps"]}
    assert states["nsfw"]["state"] == "done" and states["phash"]["state"] == "done"
    assert states["tags"]["state"] == "blocked"
    assert "salon models pull wd-swinv2-tagger-v3" in states["tags"]["reason"]
    assert states["caption"]["state"] == "blocked"
    assert _detail(alice, image_id)["rating"] == "general"  # from the NSFW score alone
    job = alice.client.get(f"/api/v1/jobs?image_id={image_id}").get_json()["jobs"][0]
    assert job["state"] == "blocked"
    install.import_model(app.config["MODELS"], "tiny-wd14", build_tiny_wd14(tmp_path / "m"),
                          custom_task="tagger")
    set_setting(db, "model.tagger", "tiny-wd14")
    queue = Queue(db)
    for resource in queue.blocked_resources():
        from app.jobs import resources

        if resources.available(resource, dict(app.config)):
            queue.resume_blocked(resource)
    run_jobs(app)
    states = {s["name"]: s["state"] for s in _detail(alice, image_id)["analysis"]["steps"]}
    assert states["tags"] == "done" and states["caption"] == "blocked"


def test_a_removed_model_tag_stays_removed_after_reanalysis(app, alice: Browser,
                                                            tiny_models) -> None:
    image_id = _upload(alice, _png("#ff0000"), "red.png")
    run_jobs(app)
    headers = {"X-CSRFToken": alice.csrf()}
    edited = alice.client.post(f"/api/v1/images/{image_id}/tags", headers=headers,
                               json={"remove": ["red theme"], "add": ["Sunset_Sky", "cat"]})
    names = {t["name"]: t["source"] for t in edited.get_json()["tags"]}
    assert "red theme" not in names
    assert names["sunset sky"] == "user" and names["cat"] == "user"
    assert alice.post(f"/images/{image_id}/reanalyze").status_code == 302
    run_jobs(app)
    names = {t["name"]: t["source"] for t in _detail(alice, image_id)["tags"]}
    assert "red theme" not in names and names["sunset sky"] == "user"
    suggestions = alice.client.get("/api/v1/tags?prefix=sun").get_json()["tags"]
    assert suggestions == [{"name": "sunset sky", "category": "general", "count": 1}]


def test_only_the_owner_edits_tags(app, alice: Browser, bob: Browser) -> None:
    image_id = _upload(alice, _png("#ff0000"), "red.png", visibility="public")
    response = bob.client.post(f"/api/v1/images/{image_id}/tags",
                               headers={"X-CSRFToken": bob.csrf()}, json={"add": ["mine"]})
    assert response.status_code == 404
    bad = alice.client.post(f"/api/v1/images/{image_id}/tags",
                            headers={"X-CSRFToken": alice.csrf()}, json={"add": ["\x00x"]})
    assert bad.status_code == 400


def test_sensitive_pictures_are_blurred_in_grids_unless_the_user_opts_out(app, alice: Browser,
                                                                          db) -> None:
    image_id = _upload(alice, _png("#00ff00"), "g.png")
    db.execute("UPDATE images SET rating = 'explicit' WHERE id = ?", (image_id,))
    page = alice.page("/mine")
    assert "blur-sensitive" in page.body["class"]
    assert page.select_one(f'.card[data-id="{image_id}"]')["data-sensitive"] == "explicit"
    alice.post("/settings/preferences", {"default_visibility": "private"})  # box unticked
    assert "blur-sensitive" not in (alice.page("/mine").body.get("class") or [])


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_video_frames_are_tagged_and_the_middle_one_captioned(app, alice: Browser, tmp_path,
                                                               tiny_models) -> None:
    path = tmp_path / "clip.mp4"
    # Red for the first half, blue for the second: frames at 10 % and 90 % differ.
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=320x240:d=2",
                    "-f", "lavfi", "-i", "color=c=blue:s=320x240:d=2", "-filter_complex",
                    "[0][1]concat=n=2:v=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=120)
    image_id = _upload(alice, path.read_bytes(), "clip.mp4")
    run_jobs(app)
    names = {t["name"] for t in _detail(alice, image_id)["tags"]}
    assert {"red theme", "blue theme"} <= names
    assert _detail(alice, image_id)["caption"]


def test_reanalyze_cli_selects_by_query(app, runner, alice: Browser, tiny_models) -> None:
    _upload(alice, _png("#ff0000"), "harbour.png", title="harbour")
    _upload(alice, _png("#0000ff"), "field.png")
    run_jobs(app)
    result = runner.invoke(["reanalyze", "--query", "harbour"])
    assert "queued analysis of 1 picture" in result.output
    assert run_jobs(app) == 1
    by_tag = runner.invoke(["reanalyze", "--query", "blue_theme -red_theme width:>100"])
    assert "queued analysis of 1 picture" in by_tag.output  # the search language, tags too
    assert run_jobs(app) == 1
    everything = runner.invoke(["reanalyze", "--all"])
    assert "queued analysis of 2 picture" in everything.output
    assert run_jobs(app) == 2
    bad = runner.runner.invoke(__import__("app.cli").cli.main, ["reanalyze", "-q", "width:abc"],
                               obj=app)
    assert bad.exit_code == 2 and "whole number of pixels" in bad.output
    assert "say which pictures" in runner.runner.invoke(
        __import__("app.cli").cli.main, ["reanalyze"], obj=app).output
