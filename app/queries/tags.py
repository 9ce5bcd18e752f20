"""Queries over ``tags``, ``image_tags`` and ``image_tag_removals``."""

from __future__ import annotations

import time
from collections.abc import Iterable

from app.db import Database, Row
from app.queries.visibility import Viewer, listable


def tag_id(db: Database, name: str, category: str) -> int:
    """The id of ``name``, creating the tag (with ``category``) if it is new."""
    db.execute("INSERT INTO tags (name, category) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
               (name, category))
    return int(db.value("SELECT id FROM tags WHERE name = ?", (name,)))


def image_tags(db: Database, image_id: int) -> list[Row]:
    return db.all(
        "SELECT t.id, t.name, t.category, t.count, it.confidence, it.source"
        " FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.image_id = ?"
        " ORDER BY CASE t.category WHEN 'character' THEN 0 WHEN 'general' THEN 2 ELSE 1 END,"
        " it.confidence DESC NULLS FIRST, t.name", (image_id,))


def removed_tag_ids(db: Database, image_id: int) -> set[int]:
    return {row["tag_id"] for row in db.all(
        "SELECT tag_id FROM image_tag_removals WHERE image_id = ?", (image_id,))}


def drop_source(db: Database, image_id: int, source: str) -> list[int]:
    """Remove this source's tags from the picture; return the tag ids touched."""
    ids = [row["tag_id"] for row in db.all(
        "SELECT tag_id FROM image_tags WHERE image_id = ? AND source = ?", (image_id, source))]
    db.execute("DELETE FROM image_tags WHERE image_id = ? AND source = ?", (image_id, source))
    return ids


def attach(db: Database, image_id: int, tag: int, source: str,
           confidence: float | None) -> None:
    """Put a tag on a picture; an owner's tag is never overwritten by a model's."""
    db.execute(
        "INSERT INTO image_tags (image_id, tag_id, confidence, source) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (image_id, tag_id) DO UPDATE SET confidence = excluded.confidence,"
        " source = excluded.source WHERE image_tags.source != 'user' OR excluded.source = 'user'",
        (image_id, tag, confidence, source))


def detach(db: Database, image_id: int, tag: int) -> None:
    db.execute("DELETE FROM image_tags WHERE image_id = ? AND tag_id = ?", (image_id, tag))
    db.execute("INSERT OR REPLACE INTO image_tag_removals (image_id, tag_id, removed_at)"
               " VALUES (?, ?, ?)", (image_id, tag, time.time()))


def forget_removal(db: Database, image_id: int, tag: int) -> None:
    db.execute("DELETE FROM image_tag_removals WHERE image_id = ? AND tag_id = ?",
               (image_id, tag))


def recount(db: Database, tag_ids: Iterable[int]) -> None:
    """Keep the materialised counts right: live pictures carrying each tag."""
    for tag in set(tag_ids):
        db.execute(
            "UPDATE tags SET count = (SELECT count(*) FROM image_tags it"
            " JOIN images i ON i.id = it.image_id"
            " WHERE it.tag_id = ? AND i.deleted_at IS NULL) WHERE id = ?", (tag, tag))


def tag_ids_of(db: Database, image_id: int) -> list[int]:
    return [row["tag_id"] for row in db.all(
        "SELECT tag_id FROM image_tags WHERE image_id = ?", (image_id,))]


SHOWN_COUNT_CAP = 1000
CANDIDATES_PER_RESULT = 5


def by_prefix(db: Database, prefix: str, viewer: Viewer, limit: int = 20) -> list[Row]:
    """Tags starting with ``prefix`` that the viewer can see on some picture.

    Candidates come from a range on the unique name index, most used first;
    a tag found only on pictures hidden from this viewer is never suggested
    (its name would leak them), and the count shown is over visible pictures,
    capped at ``SHOWN_COUNT_CAP`` so a common tag costs a bounded scan.
    """
    upper = prefix + "\U0010ffff"
    candidates = db.all(
        "SELECT id, name, category FROM tags WHERE name >= ? AND name < ? AND count > 0"
        " ORDER BY count DESC, name LIMIT ?", (prefix, upper, limit * CANDIDATES_PER_RESULT))
    condition, params = listable(viewer)
    found: list[Row] = []
    for tag in candidates:
        count = db.value(
            "SELECT count(*) FROM (SELECT 1 FROM image_tags it JOIN images i ON i.id = it.image_id"
            f" WHERE it.tag_id = ? AND {condition} LIMIT ?)",
            [tag["id"], *params, SHOWN_COUNT_CAP])
        if count:
            found.append({"name": tag["name"], "category": tag["category"], "count": count})
        if len(found) == limit:
            break
    found.sort(key=lambda row: (-row["count"], row["name"]))
    return found
