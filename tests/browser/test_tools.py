"""In a real browser with a real worker: open a tool page from a picture, run resize,
follow it live and see the result saved as a new version."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ADMIN
from tests.conftest import sample_photo

pytestmark = pytest.mark.browser
RUN_MS = 60_000  # the worker may first finish the upload's analysis


def _login(page) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', ADMIN[0])
    page.fill('input[name="password"]', ADMIN[1])
    page.click("button.primary")
    page.wait_for_url("**/")


def _upload(page) -> int:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = page.request.post("/api/v1/images", headers={"X-CSRFToken": token}, multipart={
        "file": {"name": "chelsea.jpg", "mimeType": "image/jpeg",
                 "buffer": sample_photo("chelsea")}})
    assert response.status == 201, response.text()
    return int(response.json()["images"][0]["id"])


def test_run_resize_on_a_picture_from_its_tool_page(page) -> None:
    _login(page)
    picture = _upload(page)
    page.goto(f"/images/{picture}")
    page.click("#picture-tools summary")
    page.click(f'#picture-tools a[href="/tools/resize?image={picture}"]')
    page.wait_for_url(f"**/tools/resize?image={picture}")

    page.fill('input[name="width"]', "100")
    page.locator("#tool-preview").wait_for(state="visible")  # a cheap tool's live preview
    page.click("#tool-run")
    saved = page.locator("#tool-outputs li[data-image-id]")
    saved.wait_for(timeout=RUN_MS)
    assert page.locator("#tool-result").get_attribute("data-state") == "succeeded"
    assert "chelsea_resize.jpg" in saved.inner_text()

    saved.locator("a", has_text="saved as a new version").click()
    page.wait_for_url("**/images/*")
    assert page.locator("#picture").get_attribute("width") == "100"
    strip = page.locator("#versions")
    assert strip.locator('[data-relation="ancestor"]').get_attribute("data-version") == str(
        picture)
    assert strip.locator('[data-relation="self"] small').inner_text() == "resize"
