"""Collections (albums) and favourites: organising pictures without moving them.

A collection has its own visibility, but it never widens a picture's: its
pictures are always listed through ``listable(viewer)``, so a private picture
in a public collection is seen by its owner only. Owners put in their own
pictures, or (when they say so) other people's pictures they may list.
Someone else's collection is reported as not found when they try to change
it, as pictures are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.db import Database, Row
from app.errors import BadRequest, NotFound
from app.media.library import clean_details, parse_ids
from app.queries import collections as queries
from app.queries import images
from app.queries.visibility import Viewer
from app.search.pagination import Page, fetch_page


def clean(values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate title, description and visibility (a title is needed when creating);
    the same rules as a picture's details."""
    changes = clean_details(values)
    if (creating or "title" in changes) and not changes.get("title"):
        raise BadRequest("Give the collection a title.", field="title")
    return changes


def owned(db: Database, collection_id: int, owner_id: int) -> Row:
    row = queries.get_owned_collection(db, collection_id, owner_id)
    if row is None:
        raise NotFound("No such collection.")
    return row


def visible(db: Database, collection_id: int, viewer: Viewer) -> Row:
    row = queries.get_collection(db, collection_id, viewer)
    if row is None:
        raise NotFound("No such collection.")
    return row


def create(db: Database, owner_id: int, values: Mapping[str, Any]) -> int:
    changes = clean(values, creating=True)
    with db.transaction():
        return queries.insert_collection(db, owner_id, changes)


def update(db: Database, collection_id: int, owner_id: int, values: Mapping[str, Any]) -> None:
    changes = clean(values, creating=False)
    with db.transaction():
        owned(db, collection_id, owner_id)
        queries.update_collection(db, collection_id, changes)


def delete(db: Database, collection_id: int, owner_id: int) -> None:
    """The collection goes; its pictures stay where they were."""
    with db.transaction():
        owned(db, collection_id, owner_id)
        queries.delete_collection(db, collection_id)


def add_pictures(db: Database, collection_id: int, owner_id: int, image_ids: Iterable[Any],
                 *, others: bool = False) -> int:
    """Append pictures the owner may put in; others are skipped. Returns how many were new."""
    ids = parse_ids(image_ids)
    with db.transaction():
        owned(db, collection_id, owner_id)
        allowed = queries.admissible_images(db, Viewer(owner_id), ids, own_only=not others)
        added = queries.add_items(db, collection_id, allowed)
        queries.touch(db, collection_id)
        return added


def remove_pictures(db: Database, collection_id: int, owner_id: int,
                    image_ids: Iterable[Any]) -> int:
    ids = parse_ids(image_ids)
    with db.transaction():
        owned(db, collection_id, owner_id)
        removed = queries.remove_items(db, collection_id, ids)
        if owned(db, collection_id, owner_id)["cover_image_id"] in ids:
            queries.set_cover(db, collection_id, None)
        return removed


def reorder(db: Database, collection_id: int, owner_id: int, ordered: Iterable[Any]) -> None:
    """Put the given pictures first, in that order; the rest keep theirs after them."""
    ids = parse_order(ordered)
    with db.transaction():
        owned(db, collection_id, owner_id)
        current = queries.item_ids(db, collection_id)
        unknown = set(ids) - set(current)
        if unknown or len(set(ids)) != len(ids):
            raise BadRequest("Order only the collection's pictures, each once.", field="order")
        queries.set_positions(db, collection_id, ids + [i for i in current if i not in ids])


def parse_order(values: Iterable[Any]) -> list[int]:
    try:
        return [int(value) for value in values]
    except (TypeError, ValueError):
        raise BadRequest("The order is a list of picture ids.", field="order") from None


def move(db: Database, collection_id: int, owner_id: int, image_id: int, step: int) -> None:
    """Move one picture ``step`` places (negative: towards the start)."""
    with db.transaction():
        owned(db, collection_id, owner_id)
        order = queries.item_ids(db, collection_id)
        if image_id not in order:
            raise NotFound("That picture is not in this collection.")
        index = order.index(image_id)
        target = max(0, min(len(order) - 1, index + step))
        order.insert(target, order.pop(index))
        queries.set_positions(db, collection_id, order)


def set_cover(db: Database, collection_id: int, owner_id: int, image_id: int | None) -> None:
    """The cover is one of the collection's pictures the owner may see (or none)."""
    with db.transaction():
        owned(db, collection_id, owner_id)
        if image_id is not None and not _holds_visible(db, collection_id, owner_id, image_id):
            raise BadRequest("The cover must be a picture in this collection.", field="cover")
        queries.set_cover(db, collection_id, image_id)


def _holds_visible(db: Database, collection_id: int, owner_id: int, image_id: int) -> bool:
    if image_id not in queries.item_ids(db, collection_id):
        return False
    return bool(queries.admissible_images(db, Viewer(owner_id), [image_id], own_only=False))


def pictures(db: Database, collection_id: int, viewer: Viewer, cursor: int | None,
             limit: int) -> Page:
    """A page of the collection's pictures this viewer may see, in the collection's order."""
    return fetch_page(lambda after, count: queries.collection_images(
        db, collection_id, viewer, after, count), cursor, limit)


def for_picture(db: Database, owner_id: int, image_id: int) -> list[Row]:
    """The owner's collections, each saying whether it holds the picture."""
    return queries.collections_holding(db, owner_id, image_id)


# -- favourites -------------------------------------------------------------------


def set_favourite(db: Database, viewer: Viewer, image_id: int, on: bool) -> bool:
    """Favourite (or not) a picture the viewer may open; returns the new state."""
    if viewer.user_id is None:
        raise NotFound("No such picture.")
    with db.transaction():
        images.visible_image(db, image_id, viewer)
        if on:
            queries.add_favourite(db, viewer.user_id, image_id)
        else:
            queries.remove_favourite(db, viewer.user_id, image_id)
    return on


def is_favourite(db: Database, viewer: Viewer, image_id: int) -> bool:
    return viewer.user_id is not None and queries.is_favourite(db, viewer.user_id, image_id)


def favourites(db: Database, viewer: Viewer, cursor: int | None, limit: int) -> Page:
    """The viewer's own favourites, only those they may still list."""
    return fetch_page(lambda after, count: queries.favourite_images(
        db, viewer, after, count), cursor, limit)
