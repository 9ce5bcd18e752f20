"""The compare view: the parameter diff as a service, and the page with its privacy rule."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from PIL.PngImagePlugin import PngInfo

from app import compare
from app.web import compare as compare_view
from tests.conftest import Browser, png_bytes


@pytest.fixture
def app(app: Flask) -> Flask:
    """The app with the compare page, whether or not the factory wires it yet."""
    if "compare" not in app.blueprints:
        app.register_blueprint(compare_view.bp)
    return app


def _image(**values: Any) -> dict[str, Any]:
    return {"width": 512, "height": 768, "kind": "image", "mime": "image/png",
            "size_bytes": 1000, "rating": None, "created_at": "2024-05-01T10:00:00Z", **values}


def _generated(prompt: str, seed: int, steps: int) -> bytes:
    info = PngInfo()
    info.add_text("parameters", f"{prompt}\nNegative prompt: blurry, lowres\n"
                  f"Steps: {steps}, Sampler: Euler a, CFG scale: 7, Seed: {seed}, "
                  "Size: 512x768, Model: dreamshaper_8")
    return png_bytes((300 + seed % 50, 200), pnginfo=info)


def _upload(user: Browser, data: bytes, visibility: str = "private") -> int:
    response = user.upload(data, "gen.png", visibility=visibility)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["images"][0]["id"])


def test_diff_words_marks_what_each_side_has_alone() -> None:
    pieces = compare.diff_words("a cat on a red  sofa", "a small cat on a blue sofa")
    assert [(p.op, p.text) for p in pieces] == [
        ("equal", "a"), ("insert", "small"), ("equal", "cat on a"),
        ("delete", "red"), ("insert", "blue"), ("equal", "sofa")]
    assert compare.diff_words("", "") == []
    assert [p.op for p in compare.diff_words("", "new words")] == ["insert"]


def test_compare_lines_up_parameters_and_counts_differences() -> None:
    meta_a = {"prompt": "a cat", "negative_prompt": "blurry", "model": "sdxl", "sampler": "Euler",
              "steps": 20, "cfg_scale": 7.0, "seed": 1}
    meta_b = {**meta_a, "prompt": "a dog", "steps": 30, "cfg_scale": 7.5}
    result = compare.compare(_image(), meta_a, _image(width=1024), meta_b)
    lines = {line.label: line for line in result.lines}
    assert (lines["Steps"].left, lines["Steps"].right, lines["Steps"].same) == ("20", "30", False)
    assert (lines["CFG scale"].left, lines["CFG scale"].right) == ("7", "7.5")
    assert lines["Seed"].same and lines["Model"].same and lines["Sampler"].same
    assert lines["Size"].left == "512 × 768" and lines["Size"].right == "1024 × 768"
    prompt, negative = result.prompts
    assert not prompt.same and negative.same
    assert result.differences == 4  # prompt, size, steps, cfg


def test_compare_without_metadata_has_empty_parameters() -> None:
    result = compare.compare(_image(), None, _image(), None)
    assert result.differences == 0
    assert all(line.left == "" for line in result.lines if line.label == "Seed")


def test_page_shows_both_pictures_and_the_diff(alice: Browser) -> None:
    a = _upload(alice, _generated("a castle on a hill, sunset", 11, 20))
    b = _upload(alice, _generated("a castle on a hill, night, stars", 12, 30))
    page = alice.page(f"/compare?a={a}&b={b}")
    sources = [img["src"] for img in page.select("#compare-side img")]
    assert sources == [f"/media/{a}/preview", f"/media/{b}/preview"]
    assert page.select_one("#compare-split")["type"] == "range"
    rows = {row.th.get_text(strip=True): row for row in page.select(".compare-diff tbody tr")}
    assert [td.get_text() for td in rows["Steps"].find_all("td")] == ["20", "30"]
    assert "differs" in rows["Seed"]["class"] and "same" in rows["Model"]["class"]
    assert rows["Prompt"].select_one("td del").get_text() == "sunset"
    assert "night, stars" in [i.get_text() for i in rows["Prompt"].select("td ins")]
    assert page.find("script", src="/static/js/compare.js") is not None


def test_someone_elses_private_picture_is_not_found(alice: Browser, bob: Browser) -> None:
    mine = _upload(alice, _generated("a lighthouse", 21, 20))
    shared = _upload(bob, _generated("a harbour", 22, 20), visibility="public")
    hidden = _upload(bob, _generated("a secret", 23, 20))
    alice.page(f"/compare?a={mine}&b={shared}")
    alice.page(f"/compare?a={mine}&b={hidden}", status=404)
    alice.page(f"/compare?a={hidden}&b={mine}", status=404)
    alice.page(f"/compare?a={mine}&b=999999", status=404)


def test_missing_or_bad_ids_are_refused(alice: Browser) -> None:
    alice.page("/compare?a=1", status=400)
    alice.page("/compare?a=x&b=2", status=400)
