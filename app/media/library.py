"""What owners do to their pictures: edit details, change visibility, delete.

Every action looks the picture up *as its owner*; someone else's picture is
reported as not found, so these calls never reveal that it exists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from app.db import Database, Row
from app.errors import BadRequest, NotFound
from app.media.storage import MediaStore
from app.queries import images
from app.tagging import recount_picture

log = logging.getLogger(__name__)

VISIBILITIES = ("private", "unlisted", "public")
LIMITS = {"title": 200, "description": 5000}
MAX_BULK = 1000


def owned(db: Database, image_id: int, owner_id: int) -> Row:
    row = images.get_owned_image(db, image_id, owner_id)
    if row is None:
        raise NotFound("No such picture.")
    return row


def clean_details(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the editable fields present in ``values``."""
    changes: dict[str, Any] = {}
    for field, limit in LIMITS.items():
        if values.get(field) is not None:
            text = str(values[field]).strip()
            if len(text) > limit:
                raise BadRequest(f"The {field} is longer than {limit} characters.", field=field)
            changes[field] = text
    if values.get("visibility") is not None:
        changes["visibility"] = check_visibility(values["visibility"])
    return changes


def check_visibility(value: Any) -> str:
    if value not in VISIBILITIES:
        raise BadRequest(f"Visibility must be one of {', '.join(VISIBILITIES)}.",
                         field="visibility")
    return str(value)


def update_details(db: Database, image_id: int, owner_id: int,
                   values: Mapping[str, Any]) -> Row:
    changes = clean_details(values)
    with db.transaction():
        owned(db, image_id, owner_id)
        images.update_image(db, image_id, changes)
        images.index_image(db, image_id)
        return owned(db, image_id, owner_id)


def set_visibility(db: Database, owner_id: int, image_ids: Iterable[Any], visibility: str) -> int:
    """Bulk change; ids the owner does not own are ignored. Returns how many changed."""
    ids = parse_ids(image_ids)
    with db.transaction():
        return images.set_visibility(db, owner_id, ids, check_visibility(visibility))


def delete(db: Database, image_id: int, owner_id: int) -> None:
    """Tombstone now; files go when the clean-up finds no live row using them."""
    with db.transaction():
        owned(db, image_id, owner_id)
        images.tombstone(db, image_id)
        recount_picture(db, image_id)
    log.info("picture %s deleted by user %s", image_id, owner_id)


def delete_many(db: Database, owner_id: int, image_ids: Iterable[Any]) -> int:
    count = 0
    with db.transaction():
        for image_id in parse_ids(image_ids):
            if images.get_owned_image(db, image_id, owner_id) is not None:
                images.tombstone(db, image_id)
                recount_picture(db, image_id)
                count += 1
    return count


def purge(db: Database, store: MediaStore, image_ids: list[int]) -> None:
    """Erase pictures created moments ago by a request that then failed."""
    for image_id in image_ids:
        with db.transaction():
            row = db.one("SELECT sha256, ext FROM images WHERE id = ?", (image_id,))
            if row is None:
                continue
            images.hard_delete(db, image_id)
            if not images.live_sha_exists(db, row["sha256"]):
                store.remove(row["sha256"], row["ext"])


def remove_unreferenced_files(db: Database, store: MediaStore) -> int:
    """Delete originals and derived files no live picture uses; returns how many."""
    removed = 0
    for sha256, ext in list(store.stored_originals()):
        with db.transaction():  # the write lock keeps uploads of this file out meanwhile
            if images.live_sha_exists(db, sha256):
                continue
            store.remove(sha256, ext)
            removed += 1
    if removed:
        log.info("removed %d unreferenced media files", removed)
    return removed


def parse_ids(values: Iterable[Any]) -> list[int]:
    try:
        ids = sorted({int(value) for value in values})
    except (TypeError, ValueError):
        raise BadRequest("Picture ids must be whole numbers.", field="ids") from None
    if not ids or len(ids) > MAX_BULK:
        raise BadRequest(f"Select between 1 and {MAX_BULK} pictures.", field="ids")
    return ids
