"""The statistics page counts what the viewer may see, and draws it as inline SVG."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from PIL.PngImagePlugin import PngInfo

from app import stats, tagging
from app.web import stats as stats_view
from tests.conftest import Browser, png_bytes


@pytest.fixture
def app(app: Flask) -> Flask:
    """The app with the statistics page, whether or not the factory wires it yet."""
    if "stats" not in app.blueprints:
        app.register_blueprint(stats_view.bp)
    return app


def _upload(user: Browser, db: Any, width: int, visibility: str, *, model: str | None = None,
            tags: tuple[str, ...] = (), rating: str | None = None) -> int:
    info = PngInfo()
    if model:
        info.add_text("parameters", f"a picture\nSteps: 20, Sampler: DPM++ 2M, Seed: {width},"
                      f" Model: {model}")
    response = user.upload(png_bytes((width, 100), pnginfo=info), "p.png", visibility=visibility)
    assert response.status_code == 201, response.get_json()
    image_id = int(response.get_json()["images"][0]["id"])
    tagging.edit_tags(db, image_id, list(tags), [])
    if rating:  # what the analysis would have decided
        db.execute("UPDATE images SET rating = ? WHERE id = ?", (rating, image_id))
    return image_id


def _numbers(page: BeautifulSoup, chart: str) -> dict[str, int]:
    rows = page.select(f"#chart-{chart} tbody tr")
    return {row.td.get_text(): int(row.select_one("[data-value]")["data-value"]) for row in rows}


@pytest.fixture
def library(alice: Browser, bob: Browser, db: Any) -> None:
    _upload(alice, db, 101, "public", model="sdxl", tags=("cat", "sky"), rating="general")
    _upload(alice, db, 102, "private", model="sdxl", tags=("cat",), rating="explicit")
    _upload(alice, db, 103, "unlisted", model="flux", tags=("dog",))
    _upload(bob, db, 104, "public", model="flux", tags=("cat", "tree"), rating="sensitive")
    _upload(bob, db, 105, "private", model="secretmodel", tags=("cat", "hidden"),
            rating="explicit")
    _upload(bob, db, 106, "unlisted", model="flux", tags=("hidden",))


def test_counts_what_alice_may_list(alice: Browser, library: None) -> None:
    page = alice.page("/stats")
    assert _numbers(page, "tags") == {"cat": 3, "sky": 1, "dog": 1, "tree": 1}
    assert _numbers(page, "models") == {"sdxl": 2, "flux": 2}
    assert _numbers(page, "samplers") == {"DPM++ 2M": 4}
    assert _numbers(page, "ratings") == {"general": 1, "sensitive": 1, "questionable": 0,
                                         "explicit": 1, "unrated": 1}
    assert _numbers(page, "kinds") == {"image": 4, "video": 0}
    assert sum(_numbers(page, "uploads").values()) == 4
    assert "4 pictures" in page.select_one(".toolbar p").get_text()


def test_bobs_private_and_unlisted_pictures_are_not_counted(alice: Browser,
                                                            library: None) -> None:
    text = alice.page("/stats").get_text()
    assert "hidden" not in text and "secretmodel" not in text


def test_mine_only(alice: Browser, bob: Browser, library: None) -> None:
    page = alice.page("/stats?mine=1")
    assert _numbers(page, "tags") == {"cat": 2, "sky": 1, "dog": 1}
    assert _numbers(page, "models") == {"sdxl": 2, "flux": 1}
    assert sum(_numbers(page, "uploads").values()) == 3
    theirs = bob.page("/stats?mine=1")
    assert _numbers(theirs, "tags") == {"cat": 2, "hidden": 2, "tree": 1}


def test_charts_are_accessible_inline_svg(alice: Browser, library: None) -> None:
    page = alice.page("/stats")
    for chart in ("uploads", "tags", "models", "samplers", "ratings", "kinds"):
        svg = page.select_one(f"#chart-{chart} svg")
        assert svg is not None and svg["role"] == "img", chart
        assert svg.title.get_text() and svg.desc.get_text(), chart
        assert svg.select("rect"), chart
    tags_svg = page.select_one("#chart-tags svg")
    assert "cat" in tags_svg.get_text() and "3" in [t.get_text() for t in tags_svg.select(".value")]
    assert page.find("script", src=lambda src: src and "http" in src) is None


def test_empty_library_says_so(alice: Browser) -> None:
    page = alice.page("/stats")
    assert "0 pictures" in page.get_text()
    assert page.select("#chart-tags .empty")


def test_stats_need_login(client: Any, alice: Browser) -> None:
    response = client.get("/stats")
    assert response.status_code in (302, 401)


def test_periods_fill_gaps_and_pick_weeks_for_young_libraries() -> None:
    assert stats.period_unit("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z") == "week"
    assert stats.period_unit("2023-01-01T00:00:00Z", "2024-02-01T00:00:00Z") == "month"
    months = stats.fill_periods({"2023-11": 2, "2024-02": 1}, "month")
    assert months == [("2023-11", 2), ("2023-12", 0), ("2024-01", 0), ("2024-02", 1)]
    weeks = stats.fill_periods({"2024-01-01": 1, "2024-01-15": 3}, "week")
    assert weeks == [("2024-01-01", 1), ("2024-01-08", 0), ("2024-01-15", 3)]


def test_bar_geometry_is_proportional() -> None:
    chart = stats.bar_chart("t", "Tags", [("a", 10), ("b", 5), ("c", 0)])
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert chart.height == 3 * stats.ROW_HEIGHT
    columns = stats.column_chart("u", "Uploads", [(f"2020-{m:02d}", m) for m in range(1, 13)])
    assert columns.bars[-1].height == stats.PLOT_HEIGHT
    assert all(bar.y + bar.height == stats.TOP_MARGIN + stats.PLOT_HEIGHT for bar in columns.bars)
