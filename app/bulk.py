"""Bulk actions on a selection of pictures, from the grid or the API.

A selection is either ids or "everything matching this search": the latter
is resolved here, on the server, through the same grid query (and so the
same ``listable`` rules) the viewer saw, capped at ``MAX_BULK``. Every
action then keeps its own owner check, so ids of other people's pictures,
sent or matched, are skipped, never acted on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app import collections, tagging
from app.analysis.service import reanalyze_many
from app.db import Database
from app.errors import BadRequest
from app.media import library
from app.media.library import MAX_BULK, VISIBILITIES, parse_ids
from app.queries import images
from app.queries.visibility import Viewer
from app.search.grid import grid_page

ACTIONS = ("visibility", "delete", "reanalyze", "collect", "tag", "untag")
DONE = {"visibility": "Made {count} picture(s) {visibility}.",
        "delete": "Deleted {count} picture(s).",
        "reanalyze": "Queued analysis of {count} picture(s).",
        "collect": "Added {count} picture(s) to the collection.",
        "tag": "Tagged {count} picture(s).", "untag": "Untagged {count} picture(s)."}


def matching_ids(db: Database, viewer: Viewer, query: str, owner_id: int | None = None,
                 timeout_ms: int = 2000) -> list[int]:
    """Ids of what this grid (search and scope) shows the viewer, newest first, capped."""
    page = grid_page(db, viewer, query=query, owner_id=owner_id, limit=MAX_BULK,
                     timeout_ms=timeout_ms)
    return [row["id"] for row in page.items]


def selection(db: Database, viewer: Viewer, ids: Iterable[Any], *, everything: bool,
              query: str = "", owner_id: int | None = None) -> list[int]:
    """The selected ids: as sent, or every picture matching the search."""
    if everything:
        return matching_ids(db, viewer, query, owner_id)
    return parse_ids(ids)


def tag_names(raw: Any) -> list[str]:
    """Tags from a list or a comma-separated string."""
    names = raw if isinstance(raw, list) else str(raw or "").split(",")
    cleaned = [str(name) for name in names if str(name).strip()]
    if not cleaned:
        raise BadRequest("Say which tags.", field="tags")
    return cleaned


def perform(db: Database, viewer: Viewer, action: str, ids: list[int],
            options: Mapping[str, Any]) -> int:
    """Run ``action`` on the viewer's pictures among ``ids``; returns how many changed."""
    owner_id = viewer.user_id
    if owner_id is None:
        raise BadRequest("Log in to change pictures.")
    if action == "visibility":
        return library.set_visibility(db, owner_id, ids, str(options.get("visibility")))
    if action == "delete":
        return library.delete_many(db, owner_id, ids)
    if action == "reanalyze":
        return reanalyze_many(db, owner_id, ids)
    if action == "collect":
        return collections.add_pictures(db, _collection_id(options), owner_id, ids)
    if action in ("tag", "untag"):
        return retag(db, owner_id, ids, tag_names(options.get("tags")), action == "tag")
    raise BadRequest(f"'action' must be one of {', '.join(ACTIONS)}.", field="action")


def _collection_id(options: Mapping[str, Any]) -> int:
    try:
        return int(options.get("collection_id") or "")
    except (TypeError, ValueError):
        raise BadRequest("Choose a collection.", field="collection_id") from None


def retag(db: Database, owner_id: int, ids: list[int], names: list[str], add: bool) -> int:
    """Add or remove tags on the owner's pictures among ``ids``; returns how many."""
    count = 0
    with db.transaction():
        for image_id in parse_ids(ids):
            if images.get_owned_image(db, image_id, owner_id) is None:
                continue
            tagging.edit_tags(db, image_id, names if add else [], [] if add else names)
            count += 1
    return count


def form_action(form: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The grid form says "public" where the API says "visibility": map one onto the other."""
    action = str(form.get("action", ""))
    options = {key: form.get(key) for key in ("collection_id", "tags", "visibility")}
    if action in VISIBILITIES:
        return "visibility", {**options, "visibility": action}
    return action, options


def message(action: str, count: int, options: Mapping[str, Any]) -> str:
    return DONE[action].format(count=count, visibility=options.get("visibility"))
