"""Queries over ``collections``, ``collection_items`` and ``favourites``.

A collection is seen by the same rules as a picture, so its condition comes
from ``visibility.py`` too: collections have no tombstone, and the subquery
below gives them an always-empty ``deleted_at`` so that ``listable`` and
``viewable`` apply unchanged. The pictures inside are filtered separately,
through ``listable``: a private picture in a public collection stays hidden.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from app.db import Database, Row
from app.queries.images import CARD_COLUMNS
from app.queries.visibility import Viewer, listable, viewable

EDITABLE = ("title", "description", "visibility")
SOURCE = "(SELECT *, NULL AS deleted_at FROM collections) c"


def _ids(values: Iterable[int]) -> str:
    return json.dumps([int(value) for value in values])


def _summary(viewer: Viewer) -> tuple[str, list[Any]]:
    """Columns for a collection card: owner, visible pictures, a visible cover."""
    condition, params = listable(viewer)
    sql = (
        "c.id, c.owner_id, c.title, c.description, c.visibility, c.cover_image_id,"
        " c.created_at, c.updated_at, u.username AS owner_name,"
        f" (SELECT count(*) FROM collection_items ci JOIN images i ON i.id = ci.image_id"
        f"   WHERE ci.collection_id = c.id AND {condition}) AS picture_count,"
        f" coalesce((SELECT i.id FROM images i WHERE i.id = c.cover_image_id AND {condition}),"
        f"   (SELECT i.id FROM collection_items ci JOIN images i ON i.id = ci.image_id"
        f"    WHERE ci.collection_id = c.id AND {condition}"
        f"    ORDER BY ci.position, ci.image_id LIMIT 1)) AS cover_id"
    )
    return sql, [*params, *params, *params]


def insert_collection(db: Database, owner_id: int, values: Mapping[str, Any]) -> int:
    now = time.time()
    return db.execute(
        "INSERT INTO collections (owner_id, title, description, visibility, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (owner_id, values["title"], values.get("description", ""),
         values.get("visibility", "private"), now, now))


def update_collection(db: Database, collection_id: int, values: Mapping[str, Any]) -> None:
    names = [name for name in EDITABLE if name in values]
    assignments = "".join(f"{name} = ?, " for name in names)
    db.execute(f"UPDATE collections SET {assignments}updated_at = ? WHERE id = ?",
               [*(values[name] for name in names), time.time(), collection_id])


def delete_collection(db: Database, collection_id: int) -> None:
    db.execute("DELETE FROM collections WHERE id = ?", (collection_id,))


def get_collection(db: Database, collection_id: int, viewer: Viewer) -> Row | None:
    """The collection if this viewer may open it (public, unlisted or their own)."""
    condition, params = viewable(viewer, "c")
    columns, summary_params = _summary(viewer)
    return db.one(
        f"SELECT {columns} FROM {SOURCE} JOIN users u ON u.id = c.owner_id"
        f" WHERE c.id = ? AND {condition}", [*summary_params, collection_id, *params])


def get_owned_collection(db: Database, collection_id: int, owner_id: int) -> Row | None:
    return db.one("SELECT * FROM collections WHERE id = ? AND owner_id = ?",
                  (collection_id, owner_id))


def list_collections(db: Database, viewer: Viewer, owner_id: int | None = None,
                     limit: int = 200) -> list[Row]:
    """Collections this viewer may list (public ones and their own), newest first."""
    condition, params = listable(viewer, "c")
    columns, summary_params = _summary(viewer)
    owner, extra = ("", []) if owner_id is None else (" AND c.owner_id = ?", [owner_id])
    return db.all(
        f"SELECT {columns} FROM {SOURCE} JOIN users u ON u.id = c.owner_id"
        f" WHERE {condition}{owner} ORDER BY c.id DESC LIMIT ?",
        [*summary_params, *params, *extra, limit])


def collections_holding(db: Database, owner_id: int, image_id: int) -> list[Row]:
    """The owner's collections, each saying whether it holds the picture."""
    return db.all(
        "SELECT c.id, c.title, EXISTS (SELECT 1 FROM collection_items ci"
        "   WHERE ci.collection_id = c.id AND ci.image_id = ?) AS holds"
        " FROM collections c WHERE c.owner_id = ? ORDER BY c.title, c.id", (image_id, owner_id))


# -- items ------------------------------------------------------------------------


def admissible_images(db: Database, viewer: Viewer, image_ids: Iterable[int],
                      own_only: bool) -> list[int]:
    """Of ``image_ids``, those the viewer may list (and owns, if ``own_only``)."""
    condition, params = listable(viewer)
    owner, extra = (" AND i.owner_id = ?", [viewer.user_id]) if own_only else ("", [])
    return [row["id"] for row in db.all(
        f"SELECT i.id FROM images i WHERE i.id IN (SELECT value FROM json_each(?))"
        f" AND {condition}{owner} ORDER BY i.id", [_ids(image_ids), *params, *extra])]


def add_items(db: Database, collection_id: int, image_ids: list[int]) -> int:
    """Append pictures at the end, in the order given; returns how many were new."""
    last = db.value("SELECT coalesce(max(position), 0) FROM collection_items"
                    " WHERE collection_id = ?", (collection_id,))
    added = 0
    for offset, image_id in enumerate(image_ids, start=1):
        db.execute("INSERT OR IGNORE INTO collection_items (collection_id, image_id, position,"
                   " added_at) VALUES (?, ?, ?, ?)",
                   (collection_id, image_id, float(last) + offset, time.time()))
        added += db.changes()
    return added


def remove_items(db: Database, collection_id: int, image_ids: Iterable[int]) -> int:
    db.execute("DELETE FROM collection_items WHERE collection_id = ? AND image_id IN"
               " (SELECT value FROM json_each(?))", (collection_id, _ids(image_ids)))
    return db.changes()


def item_ids(db: Database, collection_id: int) -> list[int]:
    """Every picture in the collection in order (the owner's view, for reordering)."""
    return [row["image_id"] for row in db.all(
        "SELECT image_id FROM collection_items WHERE collection_id = ?"
        " ORDER BY position, image_id", (collection_id,))]


def set_positions(db: Database, collection_id: int, ordered: list[int]) -> None:
    for position, image_id in enumerate(ordered, start=1):
        db.execute("UPDATE collection_items SET position = ? WHERE collection_id = ?"
                   " AND image_id = ?", (float(position), collection_id, image_id))


def set_cover(db: Database, collection_id: int, image_id: int | None) -> None:
    db.execute("UPDATE collections SET cover_image_id = ?, updated_at = ? WHERE id = ?",
               (image_id, time.time(), collection_id))


def touch(db: Database, collection_id: int) -> None:
    db.execute("UPDATE collections SET updated_at = ? WHERE id = ?",
               (time.time(), collection_id))


def collection_images(db: Database, collection_id: int, viewer: Viewer, after: int | None,
                      limit: int) -> list[Row]:
    """A grid page of the collection in its order; ``after`` is the last picture shown."""
    condition, params = listable(viewer)
    args: list[Any] = [collection_id, *params]
    later = ""
    if after is not None:
        later = (" AND (ci.position, ci.image_id) > (SELECT position, image_id"
                 " FROM collection_items WHERE collection_id = ? AND image_id = ?)")
        args += [collection_id, after]
    return db.all(
        f"SELECT {CARD_COLUMNS}, ci.position FROM collection_items ci"
        f" JOIN images i ON i.id = ci.image_id WHERE ci.collection_id = ? AND {condition}"
        f"{later} ORDER BY ci.position, ci.image_id LIMIT ?", [*args, limit])


# -- favourites -------------------------------------------------------------------


def add_favourite(db: Database, user_id: int, image_id: int) -> None:
    db.execute("INSERT OR IGNORE INTO favourites (user_id, image_id, created_at)"
               " VALUES (?, ?, ?)", (user_id, image_id, time.time()))


def remove_favourite(db: Database, user_id: int, image_id: int) -> None:
    db.execute("DELETE FROM favourites WHERE user_id = ? AND image_id = ?", (user_id, image_id))


def is_favourite(db: Database, user_id: int, image_id: int) -> bool:
    return db.one("SELECT 1 FROM favourites WHERE user_id = ? AND image_id = ?",
                  (user_id, image_id)) is not None


def favourite_images(db: Database, viewer: Viewer, after: int | None, limit: int) -> list[Row]:
    """The viewer's favourites they may still see, latest favourited first."""
    condition, params = listable(viewer)
    args: list[Any] = [viewer.user_id, *params]
    later = ""
    if after is not None:
        later = (" AND (f.created_at, f.image_id) < (SELECT created_at, image_id"
                 " FROM favourites WHERE user_id = ? AND image_id = ?)")
        args += [viewer.user_id, after]
    return db.all(
        f"SELECT {CARD_COLUMNS} FROM favourites f JOIN images i ON i.id = f.image_id"
        f" WHERE f.user_id = ? AND {condition}{later}"
        f" ORDER BY f.created_at DESC, f.image_id DESC LIMIT ?", [*args, limit])
