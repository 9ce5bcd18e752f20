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


def daily_facts(db: Database, viewer: Viewer, owner_id: int | None = None) -> list[Row]:
    """Pictures and bytes per (upload day, kind, rating): one scan feeds the totals, the
    uploads over time, the ratings and the kinds charts."""
    where, params = _where(viewer, owner_id)
    return db.all(
        "SELECT substr(i.created_at, 1, 10) AS day, i.kind, coalesce(i.rating, 'unrated')"
        " AS rating, count(*) AS pictures, sum(i.size_bytes) AS bytes FROM images i"
        f" WHERE {where} GROUP BY day, i.kind, rating", params)


def top_tags(db: Database, viewer: Viewer, limit: int,
             owner_id: int | None = None) -> list[Row]:
    where, params = _where(viewer, owner_id)
    # Scanning the (tag_id, image_id) index in order and testing each link against the
    # set of visible ids is ~3x faster than joining every link to its picture (the
    # unary + keeps the planner off the primary key, which would need a sort).
    return db.all(
        "SELECT t.name AS label, t.category, count(*) AS value FROM image_tags it"
        " JOIN tags t ON t.id = it.tag_id"
        f" WHERE +it.image_id IN (SELECT i.id FROM images i WHERE {where})"
        " GROUP BY it.tag_id ORDER BY value DESC, t.name LIMIT ?",
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
