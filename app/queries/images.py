"""Queries over ``images``, ``image_metadata`` and the full-text index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.db import Database, Row
from app.errors import NotFound
from app.queries.visibility import Viewer, listable, viewable

CARD_COLUMNS = (
    "i.id, i.owner_id, i.sha256, i.kind, i.mime, i.ext, i.file_name, i.width, i.height,"
    " i.title, i.visibility, i.created_at, i.duration, i.frames, i.rating,"
    # A remote picture's media comes through the proxy, and its origin is named.
    " i.peer_id, i.remote_id, i.origin_url,"
    " (SELECT p.name FROM peers p WHERE p.id = i.peer_id) AS peer_name"
)

IMAGE_FIELDS = (
    "owner_id", "sha256", "kind", "mime", "ext", "file_name", "size_bytes", "width", "height",
    "frames", "duration", "codec", "title", "description", "visibility", "taken_at",
)
METADATA_FIELDS = (
    "camera_make", "camera_model", "lens", "exposure_time", "f_number", "iso", "focal_length",
    "gps_latitude", "gps_longitude", "gps_altitude", "generator", "prompt", "negative_prompt",
    "steps", "sampler", "scheduler", "cfg_scale", "seed", "model", "model_hash",
    "exif_json", "generation_json", "text_json",
)
EDITABLE_FIELDS = ("title", "description", "visibility")


def _insert(db: Database, table: str, fields: tuple[str, ...], values: Mapping[str, Any]) -> int:
    names = [name for name in fields if name in values]
    placeholders = ", ".join("?" for _ in names)
    return db.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})",
        [values[name] for name in names],
    )


def insert_image(db: Database, values: Mapping[str, Any]) -> int:
    return _insert(db, "images", IMAGE_FIELDS, values)


def insert_metadata(db: Database, image_id: int, values: Mapping[str, Any]) -> None:
    _insert(db, "image_metadata", ("image_id", *METADATA_FIELDS), {**values, "image_id": image_id})


def find_live_duplicate(db: Database, owner_id: int, sha256: str) -> Row | None:
    return db.one(
        "SELECT * FROM images WHERE owner_id = ? AND sha256 = ? AND deleted_at IS NULL",
        (owner_id, sha256),
    )


def get_image(db: Database, image_id: int, viewer: Viewer) -> Row | None:
    """The picture if this viewer may open it, else None."""
    condition, params = viewable(viewer)
    return db.one(
        f"SELECT i.*, u.username AS owner_name,"
        f" (SELECT p.name FROM peers p WHERE p.id = i.peer_id) AS peer_name"
        f" FROM images i JOIN users u ON u.id = i.owner_id WHERE i.id = ? AND {condition}",
        [image_id, *params],
    )


def visible_image(db: Database, image_id: int, viewer: Viewer) -> Row:
    """The picture if this viewer may open it; ``NotFound`` (never 403) otherwise."""
    row = get_image(db, image_id, viewer)
    if row is None:
        raise NotFound("No such picture.")
    return row


def get_owned_image(db: Database, image_id: int, owner_id: int) -> Row | None:
    return db.one(
        "SELECT * FROM images WHERE id = ? AND owner_id = ? AND deleted_at IS NULL",
        (image_id, owner_id),
    )


def get_metadata(db: Database, image_id: int) -> Row | None:
    return db.one("SELECT * FROM image_metadata WHERE image_id = ?", (image_id,))


def list_images(db: Database, viewer: Viewer, *, owner_id: int | None = None,
                before: int | None = None, limit: int = 60) -> list[Row]:
    """A page of a grid, newest first, keyset-paginated on id."""
    return _grid_page(db, viewer, "images i", [], [], owner_id, before, limit)


def search_images(db: Database, viewer: Viewer, match: str, *, owner_id: int | None = None,
                  before: int | None = None, limit: int = 60) -> list[Row]:
    """Full-text search, newest first; ``match`` is an FTS5 expression."""
    return _grid_page(db, viewer, "images_fts f JOIN images i ON i.id = f.rowid",
                      ["images_fts MATCH ?"], [match], owner_id, before, limit)


def _grid_page(db: Database, viewer: Viewer, source: str, clauses: list[str],
               args: list[Any], owner_id: int | None, before: int | None,
               limit: int) -> list[Row]:
    condition, params = listable(viewer)
    clauses, args = [*clauses, condition], [*args, *params]
    if owner_id is not None:
        clauses.append("i.owner_id = ?")
        args.append(owner_id)
    if before is not None:
        clauses.append("i.id < ?")
        args.append(before)
    return db.all(
        f"SELECT {CARD_COLUMNS} FROM {source} WHERE {' AND '.join(clauses)}"
        " ORDER BY i.id DESC LIMIT ?",
        [*args, limit],
    )


def neighbours(db: Database, viewer: Viewer, image_id: int,
               owner_id: int | None = None) -> tuple[int | None, int | None]:
    """Ids of the newer and older pictures beside this one in the same grid."""
    condition, params = listable(viewer)
    owner = "" if owner_id is None else " AND i.owner_id = ?"
    extra = [] if owner_id is None else [owner_id]
    newer = db.value(
        f"SELECT min(i.id) FROM images i WHERE i.id > ? AND {condition}{owner}",
        [image_id, *params, *extra],
    )
    older = db.value(
        f"SELECT max(i.id) FROM images i WHERE i.id < ? AND {condition}{owner}",
        [image_id, *params, *extra],
    )
    return newer, older


def update_image(db: Database, image_id: int, values: Mapping[str, Any]) -> None:
    names = [name for name in EDITABLE_FIELDS if name in values]
    if not names:
        return
    assignments = ", ".join(f"{name} = ?" for name in names)
    db.execute(
        f"UPDATE images SET {assignments}, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
        " WHERE id = ?",
        [*(values[name] for name in names), image_id],
    )


def set_visibility(db: Database, owner_id: int, image_ids: Iterable[int], visibility: str) -> int:
    ids = list(image_ids)
    marks = ", ".join("?" for _ in ids)
    db.execute(
        f"UPDATE images SET visibility = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
        f" WHERE owner_id = ? AND deleted_at IS NULL AND id IN ({marks})",
        [visibility, owner_id, *ids],
    )
    return db.changes()


def tombstone(db: Database, image_id: int) -> None:
    db.execute(
        "UPDATE images SET deleted_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
        (image_id,),
    )
    db.execute("DELETE FROM images_fts WHERE rowid = ?", (image_id,))


def hard_delete(db: Database, image_id: int) -> None:
    db.execute("DELETE FROM images_fts WHERE rowid = ?", (image_id,))
    db.execute("DELETE FROM images WHERE id = ?", (image_id,))


def live_sha_exists(db: Database, sha256: str) -> bool:
    return db.one("SELECT 1 FROM images WHERE sha256 = ? AND deleted_at IS NULL",
                  (sha256,)) is not None


def tag_tokens(tag_ids: Iterable[int]) -> str:
    """A picture's row in ``image_tag_fts``: one token per tag (``t`` and its id)."""
    return " ".join(f"t{tag_id}" for tag_id in sorted(tag_ids))


def index_image(db: Database, image_id: int) -> None:
    """(Re)write the picture's full-text rows from its current fields and tags."""
    row = db.one(
        "SELECT i.title, i.description, i.file_name, i.caption, m.prompt,"
        " (SELECT group_concat(t.name, ' ') FROM image_tags it JOIN tags t ON t.id = it.tag_id"
        "   WHERE it.image_id = i.id) AS tags"
        " FROM images i LEFT JOIN image_metadata m ON m.image_id = i.id WHERE i.id = ?",
        (image_id,),
    )
    db.execute("DELETE FROM images_fts WHERE rowid = ?", (image_id,))
    db.execute("DELETE FROM image_tag_fts WHERE rowid = ?", (image_id,))
    if row is None:
        return
    db.execute(
        "INSERT INTO images_fts (rowid, title, description, file_name, prompt, caption, tags)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (image_id, row["title"], row["description"], row["file_name"], row["prompt"] or "",
         row["caption"] or "", row["tags"] or ""),
    )
    tag_ids = [tag["tag_id"] for tag in db.all(
        "SELECT tag_id FROM image_tags WHERE image_id = ?", (image_id,))]
    if tag_ids:
        db.execute("INSERT INTO image_tag_fts (rowid, tags) VALUES (?, ?)",
                   (image_id, tag_tokens(tag_ids)))
