"""The search benchmark's synthetic library is consistent, so what it measures is real."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db import Database
from bench import library as generator
from bench import search as bench

SIZE = 2_000


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("bench") / "library.db"
    generator.build_library(path, SIZE, log=lambda _: None)
    db = Database(path)
    yield db
    db.close()


def test_every_picture_is_there_with_the_real_schema(library: Database) -> None:
    assert library.value("SELECT count(*) FROM images WHERE deleted_at IS NULL") == SIZE
    names = {row["name"] for row in library.all("SELECT name FROM schema_migrations")}
    assert names == {path.name for path in Path(bench.__file__).parent.parent.glob(
        "migrations/[0-9]*.sql")}
    indexes = {row["name"] for row in library.all(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")}
    assert {"image_tags_tag", "images_owner_sha", "images_public_live"} <= indexes


def test_tag_counts_equal_the_real_links(library: Database) -> None:
    wrong = library.all(
        "SELECT t.id, t.count, (SELECT count(*) FROM image_tags it WHERE it.tag_id = t.id) AS n"
        " FROM tags t WHERE t.count != (SELECT count(*) FROM image_tags it"
        " WHERE it.tag_id = t.id)")
    assert wrong == []
    high = generator.TAGS_PER_PICTURE[1]
    per_picture = library.all("SELECT image_id, count(*) AS n FROM image_tags GROUP BY image_id")
    assert len(per_picture) == SIZE
    assert all(1 <= row["n"] <= high for row in per_picture)


def test_every_picture_has_its_full_text_row(library: Database) -> None:
    fts_ids = {row["rowid"] for row in library.all("SELECT rowid FROM images_fts")}
    assert fts_ids == {row["id"] for row in library.all("SELECT id FROM images")}
    row = library.one("SELECT t.name, it.image_id FROM image_tags it JOIN tags t"
                      " ON t.id = it.tag_id ORDER BY it.image_id DESC LIMIT 1")
    assert row is not None
    found = library.all("SELECT rowid FROM images_fts WHERE images_fts MATCH ?",
                        (f'tags:"{row["name"]}"',))
    assert row["image_id"] in {hit["rowid"] for hit in found}


def test_tags_follow_a_zipf_shape(library: Database) -> None:
    counts = [row["count"] for row in library.all("SELECT count FROM tags ORDER BY count DESC")]
    assert counts[0] > SIZE * 0.6  # a few tags are on most pictures
    assert counts[0] > 50 * max(1, statistics.median(counts))  # most tags are rare
    assert len(counts) == generator.TAG_VOCABULARY


def test_pictures_look_like_a_real_library(library: Database) -> None:
    ratings = {row["rating"] for row in library.all("SELECT DISTINCT rating FROM images")}
    assert ratings == {"general", "sensitive", "questionable", "explicit"}
    visibility = {row["visibility"] for row in library.all(
        "SELECT DISTINCT visibility FROM images")}
    assert visibility == {"public", "private", "unlisted"}
    dates = library.one("SELECT min(created_at) AS first, max(created_at) AS last FROM images")
    assert dates is not None and dates["first"] < "2023" < dates["last"]
    assert library.value("SELECT count(*) FROM image_metadata WHERE prompt != ''") > SIZE / 2
    assert library.value("SELECT count(*) FROM images WHERE caption LIKE '% %'") == SIZE


def test_query_mix_has_every_type_with_different_terms(library: Database) -> None:
    mix = bench.query_mix(library, SIZE, reps=50)
    assert {"rare tag", "common tag", "two tags", "three tags", "negation", "or", "wildcard",
            "free text", "metatag ranges", "order:newest"} <= set(mix)
    for kind, cases in mix.items():
        assert len(cases) == 50
        assert len({case.salon for case in cases}) > 5, kind
        for case in cases[:5]:  # every bare query is valid FTS5
            library.all(bench.BARE_SQL, (case.bare,))
