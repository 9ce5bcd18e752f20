"""Queries behind tag administration: aliases, implications, renames, merges.

Lists of ids travel as one JSON parameter (``json_each(?)``), so no SQL text
is ever assembled from what a user typed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from app.db import Database, Row
from app.queries.images import CARD_COLUMNS
from app.queries.visibility import Viewer, listable

TAG_COLUMNS = "t.id, t.name, t.category, t.count"


def _ids(values: Iterable[int]) -> str:
    return json.dumps(sorted({int(value) for value in values}))


# -- tags -----------------------------------------------------------------------


def get_tag(db: Database, name: str) -> Row | None:
    return db.one(f"SELECT {TAG_COLUMNS} FROM tags t WHERE t.name = ?", (name,))


def get_tag_by_id(db: Database, tag_id: int) -> Row | None:
    return db.one(f"SELECT {TAG_COLUMNS} FROM tags t WHERE t.id = ?", (tag_id,))


def list_tags(db: Database, prefix: str = "", limit: int = 100) -> list[Row]:
    """Tags starting with ``prefix`` (unused ones too), most used first."""
    upper = prefix + "\U0010ffff"
    return db.all(
        f"SELECT {TAG_COLUMNS},"
        " (SELECT group_concat(a.alias, ', ') FROM tag_aliases a WHERE a.tag_id = t.id)"
        "   AS aliases,"
        " (SELECT group_concat(x.name, ', ') FROM tag_implications ti"
        "   JOIN tags x ON x.id = ti.implied_tag_id WHERE ti.tag_id = t.id) AS implies"
        " FROM tags t WHERE t.name >= ? AND t.name < ? ORDER BY t.count DESC, t.name LIMIT ?",
        (prefix, upper, limit))


def rename_tag(db: Database, tag_id: int, name: str) -> None:
    db.execute("UPDATE tags SET name = ? WHERE id = ?", (name, tag_id))


def set_category(db: Database, tag_id: int, category: str) -> None:
    db.execute("UPDATE tags SET category = ? WHERE id = ?", (category, tag_id))


def delete_tag(db: Database, tag_id: int) -> None:
    """Cascades to pictures' tags, aliases, implications and removal records."""
    db.execute("DELETE FROM tags WHERE id = ?", (tag_id,))


def image_ids_with(db: Database, tag_id: int) -> list[int]:
    return [row["image_id"] for row in db.all(
        "SELECT image_id FROM image_tags WHERE tag_id = ?", (tag_id,))]


# -- aliases --------------------------------------------------------------------


def alias_target(db: Database, alias: str) -> Row | None:
    """The tag an alias stands for, if ``alias`` is one."""
    return db.one(f"SELECT {TAG_COLUMNS} FROM tag_aliases a JOIN tags t ON t.id = a.tag_id"
                  " WHERE a.alias = ?", (alias,))


def canonical_name(db: Database, name: str) -> str:
    """``name`` itself, or the tag it is an alias of (``name`` already normalised)."""
    target = db.value("SELECT t.name FROM tag_aliases a JOIN tags t ON t.id = a.tag_id"
                      " WHERE a.alias = ?", (name,))
    return str(target) if target is not None else name


def aliases_of(db: Database, tag_id: int) -> list[str]:
    return [row["alias"] for row in db.all(
        "SELECT alias FROM tag_aliases WHERE tag_id = ? ORDER BY alias", (tag_id,))]


def put_alias(db: Database, alias: str, tag_id: int) -> None:
    db.execute("INSERT INTO tag_aliases (alias, tag_id, created_at) VALUES (?, ?, ?)"
               " ON CONFLICT (alias) DO UPDATE SET tag_id = excluded.tag_id",
               (alias, tag_id, time.time()))


def delete_alias(db: Database, alias: str) -> int:
    db.execute("DELETE FROM tag_aliases WHERE alias = ?", (alias,))
    return db.changes()


def retarget_aliases(db: Database, from_id: int, to_id: int) -> None:
    db.execute("UPDATE tag_aliases SET tag_id = ? WHERE tag_id = ?", (to_id, from_id))


# -- implications -----------------------------------------------------------------


def closure(db: Database, tag_ids: Iterable[int]) -> set[int]:
    """The tags given and every tag they imply, transitively."""
    return {row["id"] for row in db.all(
        "WITH RECURSIVE reach(id) AS (SELECT value FROM json_each(?)"
        " UNION SELECT ti.implied_tag_id FROM tag_implications ti JOIN reach r"
        " ON ti.tag_id = r.id) SELECT id FROM reach", (_ids(tag_ids),))}


def implying(db: Database, tag_id: int) -> set[int]:
    """The tag and every tag that implies it, transitively."""
    return {row["id"] for row in db.all(
        "WITH RECURSIVE reach(id) AS (SELECT ?"
        " UNION SELECT ti.tag_id FROM tag_implications ti JOIN reach r"
        " ON ti.implied_tag_id = r.id) SELECT id FROM reach", (tag_id,))}


def implications_of(db: Database, tag_id: int) -> list[Row]:
    """Tags this tag directly implies."""
    return db.all(f"SELECT {TAG_COLUMNS} FROM tag_implications ti"
                  " JOIN tags t ON t.id = ti.implied_tag_id WHERE ti.tag_id = ? ORDER BY t.name",
                  (tag_id,))


def implied_by(db: Database, tag_id: int) -> list[Row]:
    """Tags that directly imply this tag."""
    return db.all(f"SELECT {TAG_COLUMNS} FROM tag_implications ti"
                  " JOIN tags t ON t.id = ti.tag_id WHERE ti.implied_tag_id = ? ORDER BY t.name",
                  (tag_id,))


def put_implication(db: Database, tag_id: int, implied_id: int) -> None:
    db.execute("INSERT INTO tag_implications (tag_id, implied_tag_id, created_at)"
               " VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (tag_id, implied_id, time.time()))


def delete_implication(db: Database, tag_id: int, implied_id: int) -> int:
    db.execute("DELETE FROM tag_implications WHERE tag_id = ? AND implied_tag_id = ?",
               (tag_id, implied_id))
    return db.changes()


def spread_tag(db: Database, from_id: int, to_id: int) -> list[int]:
    """Give ``to_id`` to every picture carrying ``from_id`` (same source and confidence),
    unless the owner removed it there; returns the pictures that gained it."""
    gained = [row["image_id"] for row in db.all(
        "SELECT it.image_id FROM image_tags it WHERE it.tag_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM image_tags o WHERE o.image_id = it.image_id"
        "   AND o.tag_id = ?)"
        " AND NOT EXISTS (SELECT 1 FROM image_tag_removals r WHERE r.image_id = it.image_id"
        "   AND r.tag_id = ?)", (from_id, to_id, to_id))]
    db.execute(
        "INSERT INTO image_tags (image_id, tag_id, confidence, source)"
        " SELECT image_id, ?, confidence, source FROM image_tags WHERE image_id IN"
        " (SELECT value FROM json_each(?)) AND tag_id = ?", (to_id, _ids(gained), from_id))
    return gained


def attach_if_absent(db: Database, image_id: int, tag_id: int, source: str,
                     confidence: float | None) -> None:
    """An implied tag never overrides how the picture already carries it."""
    db.execute("INSERT INTO image_tags (image_id, tag_id, confidence, source)"
               " VALUES (?, ?, ?, ?) ON CONFLICT (image_id, tag_id) DO NOTHING",
               (image_id, tag_id, confidence, source))


# -- merging ------------------------------------------------------------------------


def move_removals(db: Database, from_id: int, to_id: int) -> None:
    """A removal of the merged tag becomes a removal of the target where it is absent."""
    db.execute(
        "INSERT OR IGNORE INTO image_tag_removals (image_id, tag_id, removed_at)"
        " SELECT image_id, ?, removed_at FROM image_tag_removals r WHERE r.tag_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = r.image_id"
        "   AND it.tag_id = ?)", (to_id, from_id, to_id))


def move_image_tags(db: Database, from_id: int, to_id: int) -> None:
    """Carry pictures over; where both tags are present an owner's tag wins a model's."""
    db.execute(
        "INSERT INTO image_tags (image_id, tag_id, confidence, source)"
        " SELECT image_id, ?, confidence, source FROM image_tags WHERE tag_id = ?"
        " ON CONFLICT (image_id, tag_id) DO UPDATE SET confidence = excluded.confidence,"
        " source = excluded.source"
        " WHERE image_tags.source != 'user' AND excluded.source = 'user'", (to_id, from_id))
    db.execute("DELETE FROM image_tag_removals WHERE tag_id = ? AND image_id IN"
               " (SELECT image_id FROM image_tags WHERE tag_id = ?)", (to_id, to_id))


# -- the tag page -------------------------------------------------------------------


def visible_count(db: Database, tag_id: int, viewer: Viewer) -> int:
    condition, params = listable(viewer)
    return int(db.value(
        f"SELECT count(*) FROM image_tags it JOIN images i ON i.id = it.image_id"
        f" WHERE it.tag_id = ? AND {condition}", [tag_id, *params]))


def related_tags(db: Database, tag_id: int, viewer: Viewer, limit: int = 20) -> list[Row]:
    """Tags most often found together with this one, over pictures the viewer may see."""
    condition, params = listable(viewer)
    return db.all(
        f"SELECT t.name, t.category, count(*) AS together FROM image_tags a"
        f" JOIN images i ON i.id = a.image_id"
        f" JOIN image_tags b ON b.image_id = a.image_id AND b.tag_id != a.tag_id"
        f" JOIN tags t ON t.id = b.tag_id"
        f" WHERE a.tag_id = ? AND {condition}"
        f" GROUP BY t.id ORDER BY together DESC, t.name LIMIT ?", [tag_id, *params, limit])


def tagged_images(db: Database, tag_id: int, viewer: Viewer, before: int | None,
                  limit: int) -> list[Row]:
    """A grid page of the pictures carrying the tag, newest first."""
    condition, params = listable(viewer)
    args: list[object] = [tag_id, *params]
    older = ""
    if before is not None:
        older, args = " AND i.id < ?", [*args, before]
    return db.all(
        f"SELECT {CARD_COLUMNS} FROM image_tags it JOIN images i ON i.id = it.image_id"
        f" WHERE it.tag_id = ? AND {condition}{older} ORDER BY i.id DESC LIMIT ?",
        [*args, limit])
