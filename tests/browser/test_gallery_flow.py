"""In a real browser: log in, upload a picture, see it in the grid, open and browse it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ADMIN
from tests.conftest import sample_photo

pytestmark = pytest.mark.browser


def _login(page) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', ADMIN[0])
    page.fill('input[name="password"]', ADMIN[1])
    page.click("button.primary")
    page.wait_for_url("**/")


def test_login_upload_see_thumbnail_open_page(page, tmp_path) -> None:
    photo = tmp_path / "chelsea.jpg"
    photo.write_bytes(sample_photo("chelsea"))
    _login(page)
    page.goto("/upload")
    page.set_input_files("#file-input", str(photo))
    done = page.locator('#upload-list li[data-state="done"]')
    done.wait_for()
    assert "done" in done.inner_text()

    page.goto("/mine")
    thumb = page.locator(".card img").first
    thumb.wait_for()
    page.wait_for_function("() => document.querySelector('.card img').naturalWidth > 0")
    assert page.evaluate("document.querySelector('.card img').naturalWidth") == 256

    page.locator(".card a").first.click()
    page.wait_for_url("**/images/*")
    assert page.locator("h1").inner_text() == "chelsea.jpg"
    page.wait_for_function("() => document.getElementById('picture').naturalWidth > 0")
    page.keyboard.press("Escape")
    page.wait_for_url("**/mine")


def test_upload_error_is_shown_per_file(page, tmp_path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a picture at all\n" * 10)
    _login(page)
    page.goto("/upload")
    page.set_input_files("#file-input", str(bad))
    failed = page.locator('#upload-list li[data-state="error"]')
    failed.wait_for()
    assert "failed" in failed.inner_text()


def test_arrow_keys_step_through_pictures(page, tmp_path) -> None:
    _login(page)
    page.goto("/upload")
    files = []
    for name in ("coffee", "rocket"):
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(sample_photo(name))
        files.append(str(path))
    page.set_input_files("#file-input", files)
    page.locator('#upload-list li[data-state="done"]').nth(1).wait_for()
    page.goto("/mine")
    page.locator(".card a").first.click()
    page.wait_for_url("**/images/*")
    first = page.url
    page.keyboard.press("ArrowRight")
    page.wait_for_url(lambda url: url != first)
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(first)
