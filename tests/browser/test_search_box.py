"""In a real browser: the search box suggests tags as you type, written as the
query language writes them, and a search shows its results."""

from __future__ import annotations

import pytest

from tests.browser.test_gallery_flow import _login
from tests.conftest import sample_photo

pytestmark = pytest.mark.browser


def test_search_box_suggests_tags_and_finds_the_picture(page, tmp_path) -> None:
    photo = tmp_path / "coffee.jpg"
    photo.write_bytes(sample_photo("coffee"))
    _login(page)
    page.goto("/upload")
    page.set_input_files("#file-input", str(photo))
    page.locator('#upload-list li[data-state="done"]').wait_for()
    page.goto("/mine")
    page.locator(".card a").first.click()
    page.wait_for_url("**/images/*")
    page.fill("#tag-input", "morning coffee")
    page.locator(".add-tags button").click()
    page.wait_for_url("**/images/*")
    assert page.locator('.tag-list li[data-tag="morning coffee"]').count() == 1

    search = page.locator('.search input[name="q"]')
    search.fill("rating:g morn")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#search-suggestions option')]"
        ".some((o) => o.value === 'rating:g morning_coffee')")
    search.fill("morning_coffee")
    search.press("Enter")
    page.wait_for_url("**/?q=morning_coffee")
    assert page.locator(".card").count() == 1
