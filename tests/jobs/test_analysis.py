"""The analyze job end to end: upload → job → steps → features, similar pictures, API, page."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFilter

from app.analysis.steps import STEPS, Picture, analysis_step, dominant_colors, phash_bits
from app.jobs.context import Blocked
from app.jobs.queue import Queue
from app.jobs.runner import Runner
from tests.conftest import Browser, sample_photo


def run_jobs(app, limit: int = 50) -> int:
    """Run queued jobs in this process, as a worker would; returns how many ran."""
    runner = Runner(Queue(app.extensions["salon.db"]), app.extensions["salon.media"],
                    dict(app.config), "test-worker")
    count = 0
    while count < limit and runner.run_one():
        count += 1
    return count


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_upload_queues_one_analyze_job_and_it_completes(app, alice: Browser,
                                                        tiny_models) -> None:
    upload = alice.upload(sample_photo("chelsea"), "cat.jpg").get_json()["images"][0]
    job = alice.client.get(f"/api/v1/jobs/{upload['analysis_job_id']}").get_json()
    assert (job["kind"], job["state"], job["image_id"]) == ("analyze", "queued", upload["id"])
    before = alice.client.get(f"/api/v1/images/{upload['id']}").get_json()["analysis"]
    assert before["state"] == "pending"
    assert [step["name"] for step in before["steps"]] == list(STEPS)
    assert run_jobs(app) == 1
    after = alice.client.get(f"/api/v1/images/{upload['id']}").get_json()["analysis"]
    assert after["state"] == "done"
    assert {step["state"] for step in after["steps"]} == {"done"}
    job = alice.client.get(f"/api/v1/jobs/{upload['analysis_job_id']}").get_json()
    assert job["state"] == "succeeded" and job["progress"] == 1
    assert job["result"]["steps"]["phash"]["phash"]


def test_near_duplicates_are_similar_and_different_pictures_are_not(app, alice: Browser) -> None:
    from skimage import data

    cat = Image.fromarray(data.chelsea())
    original = alice.upload(_jpeg(cat), "cat.jpg").get_json()["images"][0]["id"]
    smaller = alice.upload(_jpeg(cat.resize((300, 200)).filter(ImageFilter.SMOOTH), 60),
                           "cat-small.jpg").get_json()["images"][0]["id"]
    other = alice.upload(sample_photo("rocket"), "rocket.jpg").get_json()["images"][0]["id"]
    run_jobs(app)
    page = alice.page(f"/images/{original}")
    similar = [a["href"] for a in page.select(".similar a[href^=\"/images/\"]")]
    assert similar == [f"/images/{smaller}"]
    assert not alice.page(f"/images/{other}").select(".similar a")
    panel = alice.page(f"/images/{smaller}/analysis")
    assert panel.select(".palette .swatch")


def test_similar_pictures_respect_visibility(app, alice: Browser, bob: Browser) -> None:
    data = sample_photo("coffee")
    mine = bob.upload(data, "public.jpg", visibility="public").get_json()["images"][0]["id"]
    alice.upload(_jpeg(Image.open(io.BytesIO(data)), 70), "private.jpg", visibility="private")
    run_jobs(app)
    assert bob.page(f"/images/{mine}").select(".similar a") == []  # alice's copy is private
    assert alice.page(f"/images/{mine}").select(".similar a")


def test_phash_is_stable_and_colours_are_real() -> None:
    red = Image.new("RGB", (64, 64), (250, 10, 10))
    assert dominant_colors(red)[0] == {"hex": "#fa0a0a", "share": 1.0}
    from skimage import data

    cat = Image.fromarray(data.chelsea())
    assert (phash_bits(cat) ^ phash_bits(cat.resize((200, 130)))).bit_count() <= 4
    assert (phash_bits(cat) ^ phash_bits(Image.fromarray(data.rocket()))).bit_count() > 10


@pytest.fixture
def blocking_step():
    @analysis_step("needs_model", "Needs a model")
    def needs_model(db, picture: Picture, config) -> None:
        if not config.get("TEST_MODEL_READY"):
            raise Blocked("The model 'tiny' is not installed.", "model:tiny")

    yield
    del STEPS["needs_model"]


def test_a_blocked_step_does_not_stop_the_others(app, alice: Browser, blocking_step,
                                                tiny_models) -> None:
    image_id = alice.upload(sample_photo("coffee"), "c.jpg").get_json()["images"][0]["id"]
    run_jobs(app)
    analysis = alice.client.get(f"/api/v1/images/{image_id}").get_json()["analysis"]
    states = {step["name"]: (step["state"], step["reason"]) for step in analysis["steps"]}
    assert states["phash"] == ("done", None) and states["colors"] == ("done", None)
    assert states["needs_model"] == ("blocked", "The model 'tiny' is not installed.")
    assert analysis["state"] == "blocked"
    job = alice.client.get(f"/api/v1/jobs?image_id={image_id}").get_json()["jobs"][0]
    assert job["state"] == "blocked" and job["blocked_on"] == "model:tiny"
    app.config["TEST_MODEL_READY"] = True
    assert Queue(app.extensions["salon.db"]).resume_blocked("model:tiny") == 1
    run_jobs(app)
    analysis = alice.client.get(f"/api/v1/images/{image_id}").get_json()["analysis"]
    assert analysis["state"] == "done"


def test_reanalyze_from_the_picture_page(app, alice: Browser, tiny_models) -> None:
    image_id = alice.upload(sample_photo("rocket"), "r.jpg").get_json()["images"][0]["id"]
    run_jobs(app)
    assert alice.post(f"/images/{image_id}/reanalyze").status_code == 302
    jobs = alice.client.get(f"/api/v1/jobs?image_id={image_id}").get_json()["jobs"]
    assert [job["state"] for job in jobs] == ["queued", "succeeded"]
    assert run_jobs(app) == 1


def test_jobs_api_is_private_and_controls_work(app, alice: Browser, bob: Browser) -> None:
    job_id = alice.upload(sample_photo("rocket"), "r.jpg").get_json()["images"][0][
        "analysis_job_id"]
    assert bob.client.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert job_id not in [j["id"] for j in bob.client.get("/api/v1/jobs").get_json()["jobs"]]
    headers = {"X-CSRFToken": bob.csrf()}
    assert bob.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers).status_code == 404
    headers = {"X-CSRFToken": alice.csrf()}
    cancelled = alice.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers)
    assert cancelled.get_json()["state"] == "cancelled"
    assert alice.client.post(f"/api/v1/jobs/{job_id}/cancel",
                             headers=headers).status_code == 409
    retried = alice.client.post(f"/api/v1/jobs/{job_id}/retry", headers=headers)
    assert retried.get_json()["state"] == "queued"
    assert alice.client.get("/api/v1/jobs?state=bogus").status_code == 400
    assert alice.client.get("/api/v1/queue").status_code == 403


def test_admin_queue_api_changes_limits_at_run_time(app, make_user) -> None:
    make_user("root", role="admin")
    admin = Browser(app.test_client())
    admin.login("root")
    headers = {"X-CSRFToken": admin.csrf()}
    response = admin.client.post("/api/v1/queue/kinds/analyze", headers=headers,
                                 json={"concurrency": 1, "paused": True})
    assert response.get_json()["kinds"]["analyze"] == {"concurrency": 1, "paused": True}
    bad = admin.client.post("/api/v1/queue/kinds/analyze", headers=headers,
                            json={"concurrency": "many"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "concurrency"


def test_jobs_cli(app, runner, alice: Browser) -> None:
    job_id = alice.upload(sample_photo("rocket"), "r.jpg").get_json()["images"][0][
        "analysis_job_id"]
    listed = runner.invoke(["jobs", "list", "--json"])
    assert f'"id": {job_id}' in listed.output
    assert runner.invoke(["jobs", "cancel", str(job_id)]).exit_code == 0
    assert runner.invoke(["jobs", "retry", str(job_id)]).exit_code == 0
    paused = runner.invoke(["jobs", "configure", "analyze", "--pause", "--concurrency", "2"])
    assert paused.exit_code == 0
    assert run_jobs(app) == 0  # paused
    runner.invoke(["jobs", "configure", "analyze", "--resume"])
    assert run_jobs(app) == 1
    queued = runner.invoke(["jobs", "enqueue", "sleep", "--payload", '{"seconds": 0.01}'])
    assert queued.exit_code == 0 and int(queued.output)
    bad = runner.runner.invoke(__import__("app.cli").cli.main, ["jobs", "enqueue", "nope"],
                               obj=app)
    assert bad.exit_code == 2 and "no job kind" in bad.output
