"""Store one checked feed page: remote pictures as rows of ``images``, and the cursor.

Everything in a page, the cursor included, is written in one transaction,
so a sync killed at any point resumes from the last stored page with
nothing lost or doubled. Remote pictures belong to the peer's shadow
account, are public, carry their tags with source ``remote`` and are never
queued for analysis (only ``media.ingest`` does that). Tags are written
through the tagging queries (aliases followed; counts and both full-text
indexes kept), with one recount per page rather than per picture.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app import tagging
from app.db import Database, Row
from app.errors import AppError
from app.federation.proxy import forget_picture
from app.federation.remote import Delete, FeedError, FeedPage, RemotePicture
from app.queries import images
from app.queries import peers as peer_queries
from app.queries import tags as tag_queries

SOURCE = "remote"
EXTENSIONS = {"image/jpeg": "jpg", "image/svg+xml": "svg", "video/quicktime": "mov",
              "video/x-matroska": "mkv"}
PICTURE_FIELDS = ("sha256", "kind", "mime", "ext", "file_name", "size_bytes", "width", "height",
                  "frames", "duration", "title", "description", "rating", "nsfw_score", "caption",
                  "origin_url", "created_at", "updated_at")


@dataclass(frozen=True)
class Applied:
    upserted: list[str]
    deleted: int
    #: proxy cache files of deleted pictures, to remove after the commit
    uncached: list[str] = field(default_factory=list)


class CursorMoved(AppError):
    """Another sync of the same peer stored a page meanwhile; this one stops."""

    status = 409


def apply_page(db: Database, peer_id: int, cursor: int, page: FeedPage) -> Applied:
    """Write ``page`` (fetched after ``cursor``) and move the cursor, all or nothing."""
    with db.transaction():
        peer = peer_queries.get_peer(db, peer_id)
        if peer is None or peer["cursor"] != cursor:
            raise CursorMoved("The peer's cursor moved during the sync.")
        if peer["blocked"] or peer["following"] not in ("requested", "approved"):
            raise CursorMoved("The peer was unfollowed or blocked during the sync.")
        owner_id = peer_queries.ensure_shadow_user(db, peer)
        touched: list[int] = []
        upserted: list[str] = []
        deleted = 0
        uncached: list[str] = []
        for change in page.changes:
            if isinstance(change, Delete):
                deleted += _delete(db, peer_id, change.id, touched)
                uncached += forget_picture(db, peer_id, change.id)
            else:
                _upsert(db, peer, owner_id, change.picture, touched)
                upserted.append(change.picture.id)
        tag_queries.recount(db, touched)
        # The feed answered, so the peer has approved us (a 403 would have said otherwise).
        peer_queries.set_states(db, peer_id, cursor=page.next_after, following="approved")
    return Applied(upserted, deleted, uncached)


def _delete(db: Database, peer_id: int, remote_id: str, touched: list[int]) -> int:
    found = peer_queries.find_remote(db, peer_id, remote_id)
    if found is None:
        return 0
    touched += tag_queries.tag_ids_of(db, found["id"])
    images.hard_delete(db, found["id"])
    return 1


def delete_all(db: Database, peer_id: int) -> int:
    """Remove every picture of the peer (unfollow, block)."""
    touched: list[int] = []
    with db.transaction():
        ids = peer_queries.remote_image_ids(db, peer_id)
        for image_id in ids:
            touched += tag_queries.tag_ids_of(db, image_id)
            images.hard_delete(db, image_id)
        tag_queries.recount(db, touched)
    return len(ids)


def extension(mime: str) -> str:
    if mime in EXTENSIONS:
        return EXTENSIONS[mime]
    subtype = re.sub(r"[^a-z0-9]", "", mime.partition("/")[2])[:5]
    return subtype if len(subtype) >= 2 else "bin"


def _values(picture: RemotePicture) -> dict[str, Any]:
    ext = extension(picture.mime)
    return {
        "sha256": picture.sha256, "kind": picture.kind, "mime": picture.mime, "ext": ext,
        "file_name": picture.file_name.strip() or f"{picture.id}.{ext}",
        "size_bytes": picture.size_bytes,
        "width": picture.width, "height": picture.height, "frames": picture.frames,
        "duration": picture.duration, "title": picture.title.strip(),
        "description": picture.description.strip(), "rating": picture.rating,
        "nsfw_score": picture.nsfw_score, "caption": picture.caption,
        "origin_url": picture.url, "created_at": picture.created_at,
        "updated_at": picture.updated_at or picture.created_at,
    }


def _upsert(db: Database, peer: Row, owner_id: int, picture: RemotePicture,
            touched: list[int]) -> None:
    values = _values(picture)
    found = peer_queries.find_remote(db, peer["id"], picture.id)
    if found is None:
        names = [*PICTURE_FIELDS, "owner_id", "visibility", "peer_id", "remote_id"]
        row = [*(values[name] for name in PICTURE_FIELDS), owner_id, "public", peer["id"],
               picture.id]
        image_id = db.execute(f"INSERT INTO images ({', '.join(names)})"
                              f" VALUES ({', '.join('?' for _ in names)})", row)
    else:
        image_id = int(found["id"])
        db.execute(f"UPDATE images SET {', '.join(f'{name} = ?' for name in PICTURE_FIELDS)}"
                   " WHERE id = ?", [*(values[name] for name in PICTURE_FIELDS), image_id])
    _store_metadata(db, image_id, picture)
    touched += _store_tags(db, image_id, picture)
    images.index_image(db, image_id)


def _store_metadata(db: Database, image_id: int, picture: RemotePicture) -> None:
    meta = picture.metadata.model_dump()
    generation = {("tool" if key == "generator" else key): value
                  for key, value in meta.items() if value is not None}
    db.execute("DELETE FROM image_metadata WHERE image_id = ?", (image_id,))
    images.insert_metadata(db, image_id, {
        **meta, "generation_json": json.dumps(generation)})


def _store_tags(db: Database, image_id: int, picture: RemotePicture) -> list[int]:
    touched = tag_queries.drop_source(db, image_id, SOURCE)
    for tag in picture.tags:
        try:
            name = tagging.canonical(db, tag.name)
        except AppError as error:
            raise FeedError(f"Picture {picture.id}: {error.message}") from None
        category = tag.category if tag.category in tagging.CATEGORIES else "general"
        tag_id = tag_queries.tag_id(db, name, category)
        tag_queries.attach(db, image_id, tag_id, SOURCE, tag.confidence)
        touched.append(tag_id)
    return touched
