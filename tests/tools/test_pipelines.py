"""Pipelines: saved, validated step by step, run over a selection or a search, in
batches where one bad picture is recorded and the rest go on; ZIPs are streamed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from app.queries.settings import set_setting
from app.tools.batch import Batch
from tests.conftest import jpeg_bytes, sample_photo
from tests.tools.helpers import run_tool
from tests.tools.infra import post_json, run_jobs, run_status, upload

THREE_STEPS = [{"tool": "resize", "settings": {"width": 200}},
               {"tool": "rotate", "settings": {"angle": 90}},
               {"tool": "convert", "settings": {"format": "png"}}]


def _create(user, steps=THREE_STEPS, name: str = "thumbs") -> dict:
    response = post_json(user, "/api/v1/pipelines", {"name": name, "steps": steps})
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def _run(user, pipeline_id: int, body: dict) -> int:
    response = post_json(user, f"/api/v1/pipelines/{pipeline_id}/run", body)
    assert response.status_code == 202, response.get_json()
    return int(response.get_json()["job_id"])


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def test_save_list_edit_delete(alice, bob) -> None:
    created = _create(alice)
    assert created["steps"][0] == {"tool": "resize", "settings": {
        "width": 200.0, "height": None, "fit": "contain", "withoutEnlargement": False,
        "percentage": None}}
    listed = alice.client.get("/api/v1/pipelines").get_json()["pipelines"]
    assert [p["name"] for p in listed] == ["thumbs"]
    assert bob.client.get("/api/v1/pipelines").get_json()["pipelines"] == []
    assert bob.client.get(f"/api/v1/pipelines/{created['id']}").status_code == 404
    again = post_json(alice, "/api/v1/pipelines", {"name": "thumbs", "steps": THREE_STEPS})
    assert again.status_code == 409
    edited = post_json(alice, f"/api/v1/pipelines/{created['id']}",
                       {"name": "small", "steps": THREE_STEPS[:1]}, method="PUT")
    assert edited.status_code == 200 and len(edited.get_json()["steps"]) == 1
    assert post_json(bob, f"/api/v1/pipelines/{created['id']}", {}, "DELETE").status_code == 404
    assert post_json(alice, f"/api/v1/pipelines/{created['id']}", {},
                     "DELETE").status_code == 204


def test_every_step_is_checked_before_saving(alice) -> None:
    bad = post_json(alice, "/api/v1/pipelines", {"name": "x", "steps": [
        {"tool": "resize", "settings": {"width": 10}},
        {"tool": "resize", "settings": {"width": -1}}]})
    assert bad.status_code == 400
    assert bad.get_json()["fields"][0]["field"] == "steps.1.settings.width"
    not_a_step = post_json(alice, "/api/v1/pipelines", {"name": "x", "steps": [
        {"tool": "info", "settings": {}}]})
    assert not_a_step.status_code == 400 and "Step 1 (info)" in not_a_step.get_json()["error"]
    unknown = post_json(alice, "/api/v1/pipelines", {"name": "x", "steps": [{"tool": "nope"}]})
    assert unknown.status_code == 400 and unknown.get_json()["field"] == "steps.0.tool"
    assert alice.client.get("/api/v1/pipelines").get_json()["pipelines"] == []


def test_disabled_step_refused_when_saving_and_running(app, db, alice) -> None:
    pipeline = _create(alice)
    picture = upload(alice)
    set_setting(db, "disabled_tools", ["rotate"])
    refused = post_json(alice, f"/api/v1/pipelines/{pipeline['id']}/run",
                        {"image_ids": [picture]})
    assert refused.status_code == 403 and "Step 2 (rotate)" in refused.get_json()["error"]
    saved = post_json(alice, "/api/v1/pipelines", {"name": "other", "steps": THREE_STEPS})
    assert saved.status_code == 403 and "Step 2 (rotate)" in saved.get_json()["error"]
    assert db.value("SELECT count(*) FROM tool_runs") == 0


def test_three_steps_equal_the_three_tools_one_by_one(app, alice, tmp_path: Path) -> None:
    picture = upload(alice, "coffee")
    pipeline = _create(alice)
    job_id = _run(alice, pipeline["id"], {"image_ids": [picture], "mode": "zip"})
    run_jobs(app)
    assert run_status(alice, job_id)["state"] == "succeeded"
    with zipfile.ZipFile(io.BytesIO(alice.client.get(f"/api/v1/tools/runs/{job_id}/zip")
                                    .get_data())) as archive:
        (name,) = archive.namelist()
        piped = archive.read(name)

    source = tmp_path / "coffee.jpg"
    source.write_bytes(sample_photo("coffee"))
    current = source
    for step in THREE_STEPS:
        result = run_tool(step["tool"], [current], step["settings"], workdir=tmp_path)
        current = result.files[0].path
    assert name == current.name
    assert np.array_equal(_pixels(piped), _pixels(current.read_bytes()))


def test_batch_goes_on_after_a_bad_picture_and_reports_it(app, alice) -> None:
    big = [upload(alice, name) for name in ("astronaut", "chelsea")]
    small = alice.upload(jpeg_bytes((60, 40)), "small.jpg").get_json()["images"][0]["id"]
    pipeline = _create(alice, [{"tool": "crop", "settings": {"left": 100, "top": 100,
                                                              "width": 50, "height": 50}}])
    job_id = _run(alice, pipeline["id"], {"image_ids": [big[0], small, big[1]]})
    run_jobs(app)
    run = run_status(alice, job_id)
    assert run["state"] == "succeeded"
    assert run["counts"] == {"queued": 0, "running": 0, "succeeded": 2, "failed": 1,
                             "cancelled": 0}
    failed = [item for item in run["items"] if item["state"] == "failed"]
    assert failed[0]["image_id"] == small and "crop region" in failed[0]["error"]
    assert run["result"]["data"]["errors"] == [{"image_id": small, "error": failed[0]["error"]}]
    db = app.extensions["salon.db"]
    parents = {row["parent_id"] for row in db.all("SELECT parent_id FROM image_versions")}
    assert parents == set(big)
    names = {row["pipeline_name"] for row in db.all("SELECT pipeline_name FROM image_versions")}
    assert names == {"thumbs"}


def test_run_on_a_search_only_takes_what_the_caller_sees(app, alice, bob) -> None:
    mine = upload(alice)
    upload(bob, "chelsea")  # private: alice's search must not reach it
    pipeline = _create(alice, THREE_STEPS[:1])
    job_id = _run(alice, pipeline["id"], {"query": "", "mode": "zip"})
    run_jobs(app)
    run = run_status(alice, job_id)
    assert [item["image_id"] for item in run["items"]] == [mine]


def test_someone_elses_private_picture_is_not_found(app, alice, bob) -> None:
    theirs = upload(bob)
    pipeline = _create(alice)
    response = post_json(alice, f"/api/v1/pipelines/{pipeline['id']}/run",
                         {"image_ids": [theirs], "mode": "zip"})
    assert response.status_code == 404


def test_zip_is_streamed_from_the_output_files(app, alice) -> None:
    pictures = [upload(alice, name) for name in ("astronaut", "chelsea", "coffee")]
    pipeline = _create(alice, THREE_STEPS[:1])
    job_id = _run(alice, pipeline["id"], {"image_ids": pictures, "mode": "zip"})
    run_jobs(app)
    response = alice.client.get(f"/api/v1/tools/runs/{job_id}/zip", buffered=False)
    assert response.is_streamed and response.mimetype == "application/zip"
    chunks = list(response.response)
    response.close()
    assert len(chunks) > 3  # member by member, not one blob
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["astronaut_resize.jpg", "chelsea_resize.jpg",
                                              "coffee_resize.jpg"]
        with Image.open(io.BytesIO(archive.read("chelsea_resize.jpg"))) as image:
            assert image.width == 200
    db = app.extensions["salon.db"]
    assert db.value("SELECT count(*) FROM image_versions") == 0  # zip mode saves nothing


def test_zip_waits_for_the_run_to_finish(alice) -> None:
    picture = upload(alice)
    pipeline = _create(alice, THREE_STEPS[:1])
    job_id = _run(alice, pipeline["id"], {"image_ids": [picture], "mode": "zip"})
    assert alice.client.get(f"/api/v1/tools/runs/{job_id}/zip").status_code == 409


def test_cancelling_a_batch_stops_pictures_not_yet_started(app, alice, bob,
                                                          monkeypatch) -> None:
    pictures = [upload(alice, name) for name in ("astronaut", "chelsea", "coffee", "rocket")]
    pipeline = _create(alice, THREE_STEPS[:1])
    job_id = _run(alice, pipeline["id"], {"image_ids": pictures})
    app.config["TOOL_BATCH_CONCURRENCY"] = 1
    advance = Batch._advance

    def cancel_after_the_first(batch: Batch) -> None:
        advance(batch)
        if batch.done == 1:  # the owner presses "Cancel run" while picture 1 is done
            assert bob.client.post(f"/tools/runs/{job_id}/cancel",
                                   data={"csrf_token": bob.csrf()}).status_code == 404
            answer = alice.client.post(f"/tools/runs/{job_id}/cancel",
                                       data={"csrf_token": alice.csrf()})
            assert answer.status_code == 302

    monkeypatch.setattr(Batch, "_advance", cancel_after_the_first)
    run_jobs(app)
    run = run_status(alice, job_id)
    assert run["state"] == "cancelled"
    assert [item["state"] for item in run["items"]] == \
        ["succeeded", "cancelled", "cancelled", "cancelled"]
    db = app.extensions["salon.db"]
    assert db.value("SELECT count(*) FROM image_versions") == 1
    assert run["counts"]["cancelled"] == 3
    response = alice.client.get(f"/api/v1/tools/runs/{job_id}/zip")
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert archive.namelist() == ["astronaut_resize.jpg"]  # what was done is kept
    page = alice.client.get(f"/tools/runs/{job_id}").get_data(as_text=True)
    assert "Cancelled: pictures not yet started" in page
    assert "Cancelled: 1 succeeded, 3 cancelled" in page  # not the stale progress message
    assert 'id="run-cancel" method="post"' in page and "hidden>" in page.split("run-cancel")[1]
    again = alice.client.post(f"/tools/runs/{job_id}/cancel", data={"csrf_token": alice.csrf()},
                              follow_redirects=True)
    assert "The job has already finished." in again.get_data(as_text=True)
