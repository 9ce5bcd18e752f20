"""Counts over the pictures a viewer may list, for the statistics page.

Every query takes its visibility condition from ``listable`` (a statistic
must not reveal what the viewer could not find in a grid) and may narrow
to one owner for the "mine only" view.
"""

from __future__ import annotations

from typing import Any

from app.db import Database, Row
from app.queries.visibility import Viewer, listable

# Which image_metadata column a "top values" chart may group by.
METADATA_COLUMNS = ("model", "sampler")


def _where(viewer: Viewer, owner_id: int | None) -> tuple[str, list[Any]]:
    condition, params = listable(viewer)
    if owner_id is None:
        return condition, list(params)
    return f"{condition} AND i.owner_id = ?", [*params, owner_id]


def totals(db: Database, viewer: Viewer, owner_id: int | None = None) -> Row:
    where, params = _where(viewer, owner_id)
    row = db.one(
        "SELECT count(*) AS pictures, coalesce(sum(i.size_bytes), 0) AS bytes,"
        f" min(i.created_at) AS first, max(i.created_at) AS last FROM images i WHERE {where}",
        params)
    assert row is not None
    return row


# A period's label: the month, or the Monday that starts the week.
PERIODS = {"month": "strftime('%Y-%m', i.created_at)",
           "week": "date(i.created_at, '-6 days', 'weekday 1')"}


def uploads_by_period(db: Database, viewer: Viewer, unit: str,
                      owner_id: int | None = None) -> list[Row]:
    """Pictures per month or week (``unit``), oldest first; empty periods are absent."""
    where, params = _where(viewer, owner_id)
    return db.all(
        f"SELECT {PERIODS[unit]} AS label, count(*) AS value FROM images i"
        f" WHERE {where} GROUP BY label ORDER BY label", params)


def top_tags(db: Database, viewer: Viewer, limit: int,
             owner_id: int | None = None) -> list[Row]:
    where, params = _where(viewer, owner_id)
    return db.all(
        "SELECT t.name AS label, t.category, count(*) AS value FROM image_tags it"
        " JOIN images i ON i.id = it.image_id JOIN tags t ON t.id = it.tag_id"
        f" WHERE {where} GROUP BY it.tag_id ORDER BY value DESC, t.name LIMIT ?",
        [*params, limit])


def top_metadata(db: Database, viewer: Viewer, column: str, limit: int,
                 owner_id: int | None = None) -> list[Row]:
    """The most used values of a generation parameter (model, sampler)."""
    if column not in METADATA_COLUMNS:
        raise ValueError(f"cannot group by {column!r}")
    where, params = _where(viewer, owner_id)
    return db.all(
        f"SELECT m.{column} AS label, count(*) AS value FROM image_metadata m"
        f" JOIN images i ON i.id = m.image_id WHERE {where} AND m.{column} IS NOT NULL"
        f" AND m.{column} != '' GROUP BY m.{column} ORDER BY value DESC, label LIMIT ?",
        [*params, limit])


def ratings(db: Database, viewer: Viewer, owner_id: int | None = None) -> list[Row]:
    where, params = _where(viewer, owner_id)
    return db.all(
        "SELECT coalesce(i.rating, 'unrated') AS label, count(*) AS value FROM images i"
        f" WHERE {where} GROUP BY label", params)


def kinds(db: Database, viewer: Viewer, owner_id: int | None = None) -> list[Row]:
    where, params = _where(viewer, owner_id)
    return db.all(
        "SELECT i.kind AS label, count(*) AS value FROM images i"
        f" WHERE {where} GROUP BY i.kind ORDER BY value DESC, label", params)
