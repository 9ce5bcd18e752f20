"""In a real browser, with a real worker: an upload's analysis steps arrive live over
Socket.IO until done, the picture page swaps in its finished analysis, and the admin
Queue page counts jobs live and pauses, cancels and retries them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import Database
from app.jobs.queue import Queue
from tests.browser.conftest import ADMIN
from tests.conftest import sample_photo

pytestmark = pytest.mark.browser
ANALYSIS_MS = 60_000  # the worker's first analysis also loads its models

# Records every job event this page receives, through the page's own live.js (the same
# module instance the page uses), and resolves once the socket is connected.
LISTEN = """async () => {
  const live = await import("/static/js/live.js");
  window.jobEvents = [];
  live.onJob((job, event) => window.jobEvents.push({event, id: job.id, kind: job.kind,
                                                    state: job.state, progress: job.progress}));
  await new Promise((resolve) => live.onConnect(resolve));
  window.notReloaded = true;
}"""


def _login(page) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', ADMIN[0])
    page.fill('input[name="password"]', ADMIN[1])
    page.click("button.primary")
    page.wait_for_url("**/")


def _upload(page, tmp_path, name: str) -> None:
    photo = tmp_path / f"{name}.jpg"
    photo.write_bytes(sample_photo(name))
    page.set_input_files("#file-input", str(photo))


def test_upload_row_follows_the_analysis_live_until_done(page, tmp_path) -> None:
    _login(page)
    page.goto("/upload")
    page.evaluate(LISTEN)
    _upload(page, tmp_path, "astronaut")

    row = page.locator('#upload-list li[data-state="done"]')
    row.wait_for(timeout=ANALYSIS_MS)
    assert page.evaluate("window.notReloaded") is True
    steps = row.locator("[data-step]")
    names = steps.evaluate_all("nodes => nodes.map(n => [n.dataset.step, n.dataset.stepState])")
    assert names[:2] == [["upload", "done"], ["thumbnails", "done"]]
    assert {"phash", "colors"} <= {name for name, _ in names[2:]}
    assert all(state == "done" for _, state in names), names
    assert row.locator("progress").evaluate("p => p.value") == 1
    assert row.locator(".state a").inner_text() == "done"

    job_id = int(row.get_attribute("data-job-id"))
    events = page.evaluate("window.jobEvents")
    mine = [e for e in events if e["id"] == job_id]
    assert mine and all(e["kind"] == "analyze" for e in mine)
    assert any(e["event"] == "job.progress" for e in mine), events
    assert mine[-1]["state"] == "succeeded"
    fractions = [e["progress"] for e in mine if e["event"] == "job.progress"]
    assert fractions == sorted(fractions)


def test_queue_page_counts_the_analysis_live(page, tmp_path) -> None:
    _login(page)
    page.goto("/admin/queue")
    page.evaluate(LISTEN)
    succeeded = page.locator('td[data-kind="analyze"][data-count-state="succeeded"]')
    assert succeeded.inner_text() == "0"
    page.locator('#queue-live[data-live-state="live"]').wait_for()

    uploader = page.context.new_page()
    uploader.goto("/upload")
    _upload(uploader, tmp_path, "coffee")
    uploader.locator('#upload-list li[data-state="done"]').wait_for(timeout=ANALYSIS_MS)
    uploader.close()

    page.wait_for_function("""() => document.querySelector(
        'td[data-kind="analyze"][data-count-state="succeeded"]').textContent.trim() === '1'""")
    assert page.evaluate("window.notReloaded") is True
    assert page.locator('td[data-kind="analyze"][data-count-state="running"]').inner_text() == "0"
    assert any(e["kind"] == "analyze" and e["state"] == "succeeded"
               for e in page.evaluate("window.jobEvents"))

    page.reload()  # and the server-rendered page agrees, with the job in its list
    assert succeeded.inner_text() == "1"
    job = page.locator('#queue-jobs tr[data-job-state="succeeded"]').first
    assert "analyze" in job.inner_text()


def _queue(salon_env: dict[str, str]) -> Queue:
    return Queue(Database(Path(salon_env["SALON_INSTANCE"]) / "salon.db"))


def test_picture_page_swaps_in_the_analysis_when_it_finishes(page, tmp_path, salon_env) -> None:
    queue = _queue(salon_env)
    queue.set_kind("analyze", paused=True)  # hold the analysis until the page is open
    _login(page)
    page.goto("/upload")
    _upload(page, tmp_path, "rocket")
    row = page.locator("#upload-list li[data-image-id]")
    row.wait_for()
    page.goto(f"/images/{row.get_attribute('data-image-id')}")
    page.evaluate(LISTEN)
    assert page.locator("#analysis").get_attribute("data-state") == "pending"

    queue.set_kind("analyze", paused=False)
    queue.db.close()
    page.locator('#analysis[data-state="done"]').wait_for(timeout=ANALYSIS_MS)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator('#analysis [data-step="colors"] strong').inner_text() == "done"


def _submit(page, button) -> None:
    """Click a form's button and wait for its Post/Redirect/Get to land."""
    with page.expect_navigation():
        button.click()


def test_queue_page_pauses_cancels_and_retries(page, tmp_path) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the Cancel button asks first
    _login(page)
    page.goto("/admin/queue")
    analyze = page.locator('#queue-counts tr[data-kind="analyze"]')
    _submit(page, analyze.get_by_role("button", name="Pause"))
    assert "paused" in analyze.inner_text()
    analyze.locator('input[name="concurrency"]').fill("2")
    _submit(page, analyze.get_by_role("button", name="Set"))
    assert analyze.locator('input[name="concurrency"]').input_value() == "2"
    page.evaluate(LISTEN)

    uploader = page.context.new_page()
    uploader.goto("/upload")
    _upload(uploader, tmp_path, "chelsea")
    uploader.locator("#upload-list li[data-job-id]").wait_for()
    page.wait_for_function("""() => document.querySelector(
        'td[data-kind="analyze"][data-count-state="queued"]').textContent.trim() === '1'""")
    _submit(page, page.locator("#queue-news").get_by_role("link"))  # "new jobs arrived"
    queued = page.locator('#queue-jobs tr[data-job-state="queued"]')
    job_id = queued.first.get_attribute("data-job-id")
    _submit(page, queued.first.get_by_role("button", name="Cancel"))
    assert page.locator(".flash", has_text=f"Job {job_id} cancelled").is_visible()
    uploader.locator('#upload-list li[data-state="error"]', has_text="cancelled").wait_for()

    job = page.locator(f'#queue-jobs tr[data-job-id="{job_id}"]')
    _submit(page, analyze.get_by_role("button", name="Resume"))
    _submit(page, job.get_by_role("button", name="Retry"))
    page.locator(f'#queue-jobs tr[data-job-id="{job_id}"][data-job-state="succeeded"]').wait_for(
        timeout=ANALYSIS_MS)


def test_queue_page_shows_a_failed_jobs_error(page, salon_env) -> None:
    """A kind no worker knows fails at once; the page adds its row and counts it live."""
    _login(page)
    page.goto("/admin/queue")
    page.evaluate(LISTEN)
    queue = _queue(salon_env)
    queue.enqueue("test.unknown", max_attempts=1)
    queue.db.close()
    page.wait_for_function("""() => document.querySelector(
        'td[data-kind="test.unknown"][data-count-state="failed"]')?.textContent.trim() === '1'""")
    page.goto("/admin/queue?state=failed&kind=test.unknown")
    failed = page.locator('#queue-jobs tr[data-job-state="failed"]')
    assert failed.count() == 1
    assert "No handler for job kind" in failed.locator("pre.error").inner_text()
    assert failed.get_by_role("button", name="Retry").is_visible()
    assert not failed.get_by_role("button", name="Cancel").is_visible()
