"""The statistics page counts what the viewer may see, and draws it as inline SVG."""

from __future__ import annotations

import random
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from PIL.PngImagePlugin import PngInfo

from app import stats, tagging
from app.queries import stats as stats_queries
from app.queries.visibility import Viewer
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


# -- the summaries agree with counting the pictures -------------------------------------------


def _random_library(db: Any, rng: random.Random, users: list[int], pictures: int) -> None:
    from app.queries import images as image_queries

    for _ in range(pictures):
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z"
        image_id = db.execute(
            "INSERT INTO images (owner_id, sha256, kind, mime, ext, file_name, size_bytes,"
            " width, height, visibility, created_at, rating, deleted_at)"
            " VALUES (?, ?, ?, 'image/png', 'png', 'p.png', ?, 10, 10, ?, ?, ?, ?)",
            (rng.choice(users), f"{rng.getrandbits(256):064x}", rng.choice(stats.KINDS),
             rng.randint(1, 10_000), rng.choice(VISIBILITIES), day,
             rng.choice([None, "general", "explicit"]),
             day if rng.random() < 0.1 else None))
        for tag in rng.sample(TAG_IDS, rng.randint(0, 4)):
            db.execute("INSERT INTO image_tags (image_id, tag_id) VALUES (?, ?)", (image_id, tag))
        if rng.random() < 0.8:
            image_queries.insert_metadata(db, image_id, {
                "model": rng.choice([None, "", "sdxl", "flux", "pony"]),
                "sampler": rng.choice([None, "Euler", "DPM++ 2M"])})


def _mutate(db: Any, rng: random.Random, users: list[int]) -> None:
    from app.queries import images as image_queries

    ids = [row["id"] for row in db.all("SELECT id FROM images")]
    image_id = rng.choice(ids)
    owner = db.value("SELECT owner_id FROM images WHERE id = ?", (image_id,))
    action = rng.randrange(8)
    if action == 0:
        image_queries.set_visibility(db, owner, [image_id], rng.choice(VISIBILITIES))
    elif action == 1:
        image_queries.tombstone(db, image_id)
    elif action == 2:
        image_queries.hard_delete(db, image_id)
    elif action == 3:
        db.execute("UPDATE images SET rating = ? WHERE id = ?",
                   (rng.choice([None, "sensitive", "general"]), image_id))
    elif action == 4:
        db.execute("INSERT OR IGNORE INTO image_tags (image_id, tag_id) VALUES (?, ?)",
                   (image_id, rng.choice(TAG_IDS)))
    elif action == 5:
        db.execute("DELETE FROM image_tags WHERE image_id = ? AND tag_id = ?",
                   (image_id, rng.choice(TAG_IDS)))
    elif action == 6:
        db.execute("UPDATE image_metadata SET model = ? WHERE image_id = ?",
                   (rng.choice([None, "sdxl", "sd15"]), image_id))
    else:
        db.execute("UPDATE images SET owner_id = ?, deleted_at = NULL WHERE id = ?",
                   (rng.choice(users), image_id))


VISIBILITIES = ("private", "unlisted", "public")
TAG_IDS = list(range(1, 31))


def _viewers(users: list[int]) -> list[tuple[Viewer, int | None]]:
    people = [Viewer(user_id) for user_id in users]
    anonymous = [Viewer(None, public_gallery=True), Viewer(None)]
    return ([(viewer, None) for viewer in [*people, *anonymous]]
            + [(viewer, owner) for viewer in people[:2] for owner in users])


def _summaries(db: Any) -> list[list[Any]]:
    return [[tuple(row.values()) for row in db.all(
        f"SELECT * FROM {table} WHERE pictures != 0 ORDER BY 1, 2, 3, 4")]
        for table in ("stats_daily", "stats_tags", "stats_values")]


def test_summaries_count_exactly_what_a_scan_counts(db: Any, make_user: Any) -> None:
    rng = random.Random(5)
    users = [make_user(name) for name in ("ann", "ben", "cat")]
    with db.transaction():
        for tag in TAG_IDS:  # few tags and values, so ties in the top lists are common
            db.execute("INSERT INTO tags (id, name, category) VALUES (?, ?, 'general')",
                       (tag, f"tag{tag % 7}-{tag}"))
        _random_library(db, rng, users, 300)
    for round_ in range(6):
        for viewer, owner in _viewers(users):
            summed = stats.library_stats(db, viewer, owner)
            scanned = stats.library_stats(db, viewer, owner, scan=True)
            assert summed == scanned, (round_, viewer, owner)
        kept = _summaries(db)
        stats_queries.rebuild_summaries(db)
        assert _summaries(db) == kept, round_
        with db.transaction():
            for _ in range(60):
                _mutate(db, rng, users)
            _random_library(db, rng, users, 20)
