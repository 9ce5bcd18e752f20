"""The change feed followers page through: ``GET /federation/v1/changes``.

Triggers (migration 0007) keep one ``federation_changes`` row per local
picture at the sequence number of its latest change, so a follower that
pages from its cursor sees every picture's current state exactly once per
change. Reading a page decides, per picture, whether it is shared *now*
(public, live, local; NSFW only where the owner and the instance allow it):
shared pictures go out whole and are remembered in ``federation_shared``;
pictures that were shared before and no longer are go out as tombstones;
pictures never shared are skipped (the cursor still moves past them). The
read and the remembering happen in one write transaction, so a change made
meanwhile is ordered after it and produces its own feed row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from app.db import Database, Row

MAX_LIMIT = 500
DEFAULT_LIMIT = 200
FILE_NAME_MAX = 200
NSFW_RATINGS = ("questionable", "explicit")
SHARE_NSFW_PREFERENCE = "federation_share_nsfw"
METADATA_KEYS = ("generator", "prompt", "negative_prompt", "model", "model_hash", "sampler",
                 "scheduler", "steps", "cfg_scale", "seed")
PICTURE_COLUMNS = ("i.id, i.sha256, i.kind, i.mime, i.file_name, i.width, i.height, i.size_bytes,"
                   " i.frames, i.duration, i.title, i.description, i.rating, i.nsfw_score,"
                   " i.caption, i.created_at, i.updated_at")


def shared_condition(share_nsfw: bool) -> str:
    """SQL over ``images i JOIN users u ON u.id = i.owner_id``: shared with followers now."""
    nsfw = (f" OR json_extract(u.preferences, '$.{SHARE_NSFW_PREFERENCE}') = 1"
            if share_nsfw else "")
    return ("(i.peer_id IS NULL AND i.deleted_at IS NULL AND i.visibility = 'public'"
            f" AND (coalesce(i.rating, '') NOT IN ('questionable', 'explicit'){nsfw}))")


def is_shared(db: Database, image_id: int, share_nsfw: bool) -> Row | None:
    """The picture's row if followers may see it now (the media endpoint's check)."""
    return db.one(f"SELECT i.* FROM images i JOIN users u ON u.id = i.owner_id"
                  f" WHERE i.id = ? AND {shared_condition(share_nsfw)}", (image_id,))


def changes_page(db: Database, *, after: int, limit: int, share_nsfw: bool,
                 base_url: str) -> dict[str, Any]:
    """One page of the feed after sequence number ``after``."""
    limit = max(1, min(limit, MAX_LIMIT))
    with db.transaction():
        rows = db.all("SELECT seq, image_id FROM federation_changes WHERE seq > ?"
                      " ORDER BY seq LIMIT ?", (after, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        ids = [row["image_id"] for row in rows]
        pictures = _pictures(db, ids, share_nsfw, base_url)
        offered_before = _offered_before(db, ids)
        _remember_shared(db, list(pictures))
    changes: list[dict[str, Any]] = []
    for row in rows:
        image_id = row["image_id"]
        if image_id in pictures:
            changes.append({"seq": row["seq"], "op": "upsert", "picture": pictures[image_id]})
        elif image_id in offered_before:
            changes.append({"seq": row["seq"], "op": "delete", "id": str(image_id)})
    next_after = rows[-1]["seq"] if rows else after
    return {"changes": changes, "next_after": next_after, "more": more}


def _marks(ids: list[int]) -> str:
    return ", ".join("?" for _ in ids)


def _pictures(db: Database, ids: list[int], share_nsfw: bool,
              base_url: str) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = db.all(f"SELECT {PICTURE_COLUMNS} FROM images i JOIN users u ON u.id = i.owner_id"
                  f" WHERE i.id IN ({_marks(ids)}) AND {shared_condition(share_nsfw)}", ids)
    shared = [row["id"] for row in rows]
    tags = _tags(db, shared)
    metadata = _metadata(db, shared)
    return {row["id"]: _picture_json(row, tags.get(row["id"], []), metadata.get(row["id"], {}),
                                     base_url) for row in rows}


def _tags(db: Database, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return found
    for row in db.all("SELECT it.image_id, t.name, t.category, it.confidence"
                      " FROM image_tags it JOIN tags t ON t.id = it.tag_id"
                      f" WHERE it.image_id IN ({_marks(ids)}) ORDER BY it.image_id, t.name", ids):
        found[row["image_id"]].append({"name": row["name"], "category": row["category"],
                                       "confidence": row["confidence"]})
    return found


def _metadata(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    columns = ", ".join(METADATA_KEYS)
    rows = db.all(f"SELECT image_id, {columns} FROM image_metadata"
                  f" WHERE image_id IN ({_marks(ids)})", ids)
    return {row["image_id"]: {key: row[key] for key in METADATA_KEYS if row[key] is not None}
            for row in rows}


def _picture_json(row: Row, tags: list[dict[str, Any]], metadata: dict[str, Any],
                  base_url: str) -> dict[str, Any]:
    picture = {key: row[key] for key in (
        "sha256", "kind", "mime", "width", "height", "size_bytes", "frames", "duration", "title",
        "description", "rating", "nsfw_score", "caption", "created_at", "updated_at")}
    return {"id": str(row["id"]), **picture, "file_name": display_name(row["file_name"]),
            "tags": tags, "metadata": metadata, "url": f"{base_url}/images/{row['id']}"}


def display_name(name: str | None) -> str:
    """The file name as people see it: no folders, no control characters, at most
    ``FILE_NAME_MAX`` characters (the extension kept when the name is cut)."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(char for char in base if char.isprintable()).strip()
    if len(base) <= FILE_NAME_MAX:
        return base
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        return base[:FILE_NAME_MAX].strip()
    return f"{stem[:FILE_NAME_MAX - len(ext) - 1].strip()}.{ext}"


def _offered_before(db: Database, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return {row["image_id"] for row in db.all(
        f"SELECT image_id FROM federation_shared WHERE image_id IN ({_marks(ids)})", ids)}


def _remember_shared(db: Database, ids: list[int]) -> None:
    if ids:
        db.execute("INSERT OR IGNORE INTO federation_shared (image_id) VALUES "
                   + ", ".join("(?)" for _ in ids), ids)


def touch_owner(db: Database, owner_id: int) -> int:
    """Re-announce an owner's public NSFW pictures (their sharing preference changed)."""
    ids = [row["id"] for row in db.all(
        "SELECT id FROM images WHERE owner_id = ? AND peer_id IS NULL AND deleted_at IS NULL"
        " AND visibility = 'public' AND rating IN ('questionable', 'explicit')", (owner_id,))]
    for image_id in ids:
        db.execute("DELETE FROM federation_changes WHERE image_id = ?", (image_id,))
        db.execute("INSERT INTO federation_changes (image_id) VALUES (?)", (image_id,))
    return len(ids)
