"""Counts over the pictures a viewer may list, for the statistics page.

A statistic must not reveal what the viewer could not find in a grid, so
every count follows ``listable``: live public pictures (when the viewer may
see public ones at all) plus the viewer's own. Both parts are sums, so the
page reads the per-(owner, visibility) summaries of migration 0006 (kept by
triggers) instead of scanning the library. The ``scan_*`` queries count the
same things straight from the pictures: the reference the summaries are
tested against (and benchmarked with).
"""

from __future__ import annotations

from typing import Any

from app.db import Database, Row
from app.queries.visibility import Viewer, listable

# Which image_metadata column a "top values" chart may group by.
METADATA_COLUMNS = ("model", "sampler")


def _summary_where(viewer: Viewer, owner_id: int | None) -> tuple[str, list[Any]]:
    """The summary rows this viewer may count: the same rule as ``listable``."""
    shared: list[str] = []
    params: list[Any] = []
    if viewer.user_id is not None or viewer.public_gallery:
        shared.append("s.visibility = 'public'")
    if viewer.user_id is not None:
        shared.append("s.owner_id = ?")
        params.append(viewer.user_id)
    condition = f"({' OR '.join(shared)})" if shared else "0"
    if owner_id is None:
        return condition, params
    return f"{condition} AND s.owner_id = ?", [*params, owner_id]


def daily_facts(db: Database, viewer: Viewer, owner_id: int | None = None) -> list[Row]:
    """Pictures and bytes per (upload day, kind, rating): the totals, the uploads over
    time, the ratings and the kinds charts all come from these rows."""
    where, params = _summary_where(viewer, owner_id)
    return db.all(
        "SELECT s.day, s.kind, s.rating, sum(s.pictures) AS pictures, sum(s.bytes) AS bytes"
        f" FROM stats_daily s WHERE {where} AND s.pictures > 0"
        " GROUP BY s.day, s.kind, s.rating", params)


def top_tags(db: Database, viewer: Viewer, limit: int,
             owner_id: int | None = None) -> list[Row]:
    where, params = _summary_where(viewer, owner_id)
    return db.all(
        "SELECT t.name AS label, t.category, c.value FROM"
        " (SELECT s.tag_id, sum(s.pictures) AS value FROM stats_tags s"
        f"  WHERE {where} AND s.pictures > 0 GROUP BY s.tag_id) c"
        " JOIN tags t ON t.id = c.tag_id ORDER BY c.value DESC, t.name LIMIT ?",
        [*params, limit])


def top_metadata(db: Database, viewer: Viewer, column: str, limit: int,
                 owner_id: int | None = None) -> list[Row]:
    """The most used values of a generation parameter (model, sampler)."""
    if column not in METADATA_COLUMNS:
        raise ValueError(f"cannot group by {column!r}")
    where, params = _summary_where(viewer, owner_id)
    return db.all(
        "SELECT s.value AS label, sum(s.pictures) AS value FROM stats_values s"
        f" WHERE s.field = ? AND {where} AND s.pictures > 0"
        " GROUP BY s.value ORDER BY value DESC, label LIMIT ?",
        [column, *params, limit])


def rebuild_summaries(db: Database) -> None:
    """Count the summaries afresh from the pictures (what migration 0006 does once)."""
    with db.transaction():
        for table in ("stats_daily", "stats_tags", "stats_values"):
            db.execute(f"DELETE FROM {table}")
        db.execute(
            "INSERT INTO stats_daily SELECT owner_id, visibility, substr(created_at, 1, 10),"
            " kind, coalesce(rating, 'unrated'), count(*), sum(size_bytes)"
            " FROM images WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5")
        db.execute(
            "INSERT INTO stats_tags SELECT i.owner_id, i.visibility, it.tag_id, count(*)"
            " FROM image_tags it JOIN images i ON i.id = it.image_id"
            " WHERE i.deleted_at IS NULL GROUP BY 1, 2, 3")
        for column in METADATA_COLUMNS:
            db.execute(
                f"INSERT INTO stats_values SELECT i.owner_id, i.visibility, '{column}',"
                f" m.{column}, count(*) FROM image_metadata m JOIN images i ON i.id = m.image_id"
                f" WHERE i.deleted_at IS NULL AND m.{column} IS NOT NULL AND m.{column} != ''"
                " GROUP BY 1, 2, 4")


# -- the reference: the same counts scanned from the pictures -------------------------------


def _where(viewer: Viewer, owner_id: int | None) -> tuple[str, list[Any]]:
    condition, params = listable(viewer)
    if owner_id is None:
        return condition, list(params)
    return f"{condition} AND i.owner_id = ?", [*params, owner_id]


def scan_daily_facts(db: Database, viewer: Viewer,
                     owner_id: int | None = None) -> list[Row]:
    where, params = _where(viewer, owner_id)
    return db.all(
        "SELECT substr(i.created_at, 1, 10) AS day, i.kind, coalesce(i.rating, 'unrated')"
        " AS rating, count(*) AS pictures, sum(i.size_bytes) AS bytes FROM images i"
        f" WHERE {where} GROUP BY day, i.kind, rating", params)


def scan_top_tags(db: Database, viewer: Viewer, limit: int,
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


def scan_top_metadata(db: Database, viewer: Viewer, column: str, limit: int,
                      owner_id: int | None = None) -> list[Row]:
    if column not in METADATA_COLUMNS:
        raise ValueError(f"cannot group by {column!r}")
    where, params = _where(viewer, owner_id)
    return db.all(
        f"SELECT m.{column} AS label, count(*) AS value FROM image_metadata m"
        f" JOIN images i ON i.id = m.image_id WHERE {where} AND m.{column} IS NOT NULL"
        f" AND m.{column} != '' GROUP BY m.{column} ORDER BY value DESC, label LIMIT ?",
        [*params, limit])
