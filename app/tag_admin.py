"""Tag administration: rename, merge, aliases, implications, categories, delete.

Invariants kept here: an alias is never also a tag's name (so tagging with
an alias always lands on the one canonical tag); implications never form a
cycle; counts and the full-text index change in the same transaction as the
tags. A renamed or merged tag's old name stays as an alias, because taggers
keep proposing the old name and searches keep using it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from app.db import Database, Row
from app.errors import BadRequest, Conflict, NotFound
from app.queries import images
from app.queries import tag_admin as queries
from app.queries import tags as tag_queries
from app.queries.visibility import Viewer
from app.search.pagination import Page, fetch_page
from app.tagging import CATEGORIES, normalise


def resolve(db: Database, name: str) -> str:
    """The canonical name for what someone typed: normalised, aliases followed."""
    return queries.canonical_name(db, normalise(name))


def implied(db: Database, tag_ids: Iterable[int]) -> set[int]:
    """The tags given plus every tag they imply, transitively."""
    return queries.closure(db, tag_ids)


def require(db: Database, name: str) -> Row:
    """The tag called ``name`` (or aliased so); ``NotFound`` otherwise."""
    tag = queries.get_tag(db, resolve(db, name))
    if tag is None:
        raise NotFound(f"No tag named {normalise(name)!r}.", field="name")
    return tag


def _tag_for(db: Database, name: str) -> int:
    """The id of the tag ``name`` stands for, creating a general tag if it is new."""
    return tag_queries.tag_id(db, resolve(db, name), "general")


def _refresh(db: Database, tag_ids: Iterable[int], image_ids: Iterable[int]) -> None:
    tag_queries.recount(db, tag_ids)
    for image_id in set(image_ids):
        images.index_image(db, image_id)


def rename(db: Database, name: str, new_name: str) -> Row:
    """Rename a tag; onto an existing tag's name this is a merge."""
    new = normalise(new_name)
    with db.transaction():
        tag = require(db, name)
        if new == tag["name"]:
            return tag
        owner = queries.alias_target(db, new)
        if owner is not None and owner["id"] != tag["id"]:
            raise Conflict(f"{new!r} is an alias of {owner['name']!r}.", field="target")
        if queries.get_tag(db, new) is not None:
            return merge(db, tag["name"], new)
        queries.delete_alias(db, new)
        queries.rename_tag(db, tag["id"], new)
        queries.put_alias(db, tag["name"], tag["id"])
        _refresh(db, [], queries.image_ids_with(db, tag["id"]))
        return require(db, new)


def merge(db: Database, name: str, into: str) -> Row:
    """Fold tag ``name`` into ``into``: pictures, aliases and implications move over,
    an owner's tag wins over a model's, and ``name`` becomes an alias of ``into``."""
    with db.transaction():
        source, target = require(db, name), require(db, into)
        if source["id"] == target["id"]:
            raise BadRequest("A tag cannot be merged into itself.", field="target")
        pictures = queries.image_ids_with(db, source["id"])
        queries.move_removals(db, source["id"], target["id"])
        queries.move_image_tags(db, source["id"], target["id"])
        _move_implications(db, source["id"], target["id"])
        queries.retarget_aliases(db, source["id"], target["id"])
        queries.delete_tag(db, source["id"])
        queries.put_alias(db, source["name"], target["id"])
        _refresh(db, [target["id"]], pictures)
        return require(db, target["name"])


def _move_implications(db: Database, source: int, target: int) -> None:
    """Re-point the source's implications at the target, dropping any that would loop."""
    for row in queries.implications_of(db, source):
        if row["id"] != target and target not in queries.closure(db, [row["id"]]):
            queries.put_implication(db, target, row["id"])
    for row in queries.implied_by(db, source):
        if row["id"] != target and row["id"] not in queries.closure(db, [target]):
            queries.put_implication(db, row["id"], target)


def add_alias(db: Database, alias: str, target: str) -> Row:
    """Make ``alias`` mean ``target``; an existing tag called ``alias`` is merged in."""
    name = normalise(alias)
    with db.transaction():
        tag_id = _tag_for(db, target)
        tag = queries.get_tag_by_id(db, tag_id)
        assert tag is not None
        if name == tag["name"]:
            raise BadRequest("A tag cannot be an alias of itself.", field="alias")
        if queries.get_tag(db, name) is not None:
            return merge(db, name, tag["name"])
        queries.put_alias(db, name, tag_id)
        return tag


def remove_alias(db: Database, alias: str) -> None:
    with db.transaction():
        if not queries.delete_alias(db, normalise(alias)):
            raise NotFound(f"No alias {normalise(alias)!r}.", field="alias")


def add_implication(db: Database, name: str, implies: str) -> Row:
    """``name`` implies ``implies`` from now on, and for pictures already tagged."""
    with db.transaction():
        tag_id, implied_id = _tag_for(db, name), _tag_for(db, implies)
        if tag_id == implied_id:
            raise BadRequest("A tag cannot imply itself.", field="implies")
        if tag_id in queries.closure(db, [implied_id]):
            raise Conflict("That implication would make a cycle.", field="implies")
        queries.put_implication(db, tag_id, implied_id)
        _apply_implication(db, tag_id, implied_id)
        tag = queries.get_tag_by_id(db, tag_id)
        assert tag is not None
        return tag


def _apply_implication(db: Database, tag_id: int, implied_id: int) -> None:
    """Every picture carrying the tag, or a tag implying it, gains the implied closure."""
    gained: list[int] = []
    descendants = queries.closure(db, [implied_id])
    for carrier in sorted(queries.implying(db, tag_id)):
        for implied_tag in sorted(descendants):
            gained += queries.spread_tag(db, carrier, implied_tag)
    _refresh(db, descendants, gained)


def remove_implication(db: Database, name: str, implies: str) -> None:
    """Stop implying; pictures keep the tags they already have."""
    with db.transaction():
        tag, implied_tag = require(db, name), require(db, implies)
        if not queries.delete_implication(db, tag["id"], implied_tag["id"]):
            raise NotFound(f"{tag['name']!r} does not imply {implied_tag['name']!r}.",
                           field="implies")


def set_category(db: Database, name: str, category: str) -> Row:
    if category not in CATEGORIES:
        raise BadRequest(f"Category must be one of {', '.join(CATEGORIES)}.", field="category")
    with db.transaction():
        tag = require(db, name)
        queries.set_category(db, tag["id"], category)
        return require(db, tag["name"])


def delete(db: Database, name: str) -> int:
    """Remove the tag from every picture and forget it; returns how many pictures had it."""
    with db.transaction():
        tag = require(db, name)
        pictures = queries.image_ids_with(db, tag["id"])
        queries.delete_tag(db, tag["id"])
        _refresh(db, [], pictures)
        return len(pictures)


def details(db: Database, name: str) -> dict[str, Any]:
    """What an admin sees about one tag."""
    tag = require(db, name)
    return {**tag, "aliases": queries.aliases_of(db, tag["id"]),
            "implies": [row["name"] for row in queries.implications_of(db, tag["id"])],
            "implied_by": [row["name"] for row in queries.implied_by(db, tag["id"])]}


ACTIONS: dict[str, Callable[[Database, str, str], object]] = {
    "rename": rename,
    "merge": merge,
    "alias": lambda db, name, value: add_alias(db, value, name),
    "unalias": lambda db, name, value: remove_alias(db, value),
    "imply": add_implication,
    "unimply": remove_implication,
    "category": set_category,
    "delete": lambda db, name, value: delete(db, name),
}


def run_action(db: Database, action: str, name: str, value: str = "") -> None:
    """One admin action by name, for forms and the API (``value``: the other tag,
    the alias or the category)."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise BadRequest(f"Unknown action {action!r}.", field="action")
    if not value.strip() and action != "delete":
        raise BadRequest("Say which tag, alias or category.", field="value")
    handler(db, name, value)


# -- the tag page -------------------------------------------------------------------


def overview(db: Database, viewer: Viewer, name: str) -> dict[str, Any]:
    """A tag as a viewer sees it: counted and related over the pictures they may see.

    A tag only on pictures hidden from this viewer does not exist for them (its
    name and count would reveal those pictures); admins manage every tag.
    """
    tag = details(db, name)
    tag_id = int(tag["id"])
    visible = queries.visible_count(db, tag_id, viewer)
    if not visible and not viewer.is_admin:
        raise NotFound(f"No tag named {name!r}.", field="name")
    if not viewer.is_admin:
        tag["count"] = visible
    return {**tag, "visible_count": visible, "related": queries.related_tags(db, tag_id, viewer)}


def tagged(db: Database, viewer: Viewer, tag_id: int, cursor: int | None, limit: int) -> Page:
    """A grid page of the tag's pictures this viewer may see."""
    return fetch_page(lambda before, count: queries.tagged_images(
        db, tag_id, viewer, before, count), cursor, limit)
