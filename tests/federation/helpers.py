"""Pictures written straight into a Salon database, many at once (feeds need volume)."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from app.db import Database
from app.queries import images
from app.queries import tags as tag_queries

_serial = itertools.count(1)


def add_user(db: Database, username: str, role: str = "user") -> int:
    with db.transaction():
        return db.execute("INSERT INTO users (username, password_hash, role) VALUES (?, 'x', ?)",
                          (username, role))


def add_peer(db: Database, base_url: str = "http://origin.test", name: str = "Origin",
             following: str = "approved", follower: str = "none", keys: Any = ()) -> int:
    """A peer row as if both sides had already talked (no remote instance needed)."""
    with db.transaction():
        return db.execute("INSERT INTO peers (base_url, name, following, follower, keys)"
                          " VALUES (?, ?, ?, ?, ?)",
                          (base_url, name, following, follower, json.dumps(list(keys))))


def add_pictures(db: Database, owner_id: int, count: int, *, tags: tuple[str, ...] = ("cat",),
                 prompt: str | None = "a quiet harbour", batch: int = 500,
                 **fields: Any) -> list[int]:
    """``count`` public pictures with ``tags`` (and a prompt), in transactions of ``batch``."""
    ids: list[int] = []
    for start in range(0, count, batch):
        with db.transaction():
            tag_ids = [tag_queries.tag_id(db, name, "general") for name in tags]
            for _ in range(min(batch, count - start)):
                ids.append(_one(db, owner_id, tag_ids, prompt, fields))
            tag_queries.recount(db, tag_ids)
    return ids


def _one(db: Database, owner_id: int, tag_ids: list[int], prompt: str | None,
         fields: dict[str, Any]) -> int:
    serial = next(_serial)
    sha = hashlib.sha256(f"{owner_id}-{serial}-{id(db)}".encode()).hexdigest()
    values = {"owner_id": owner_id, "sha256": sha, "kind": "image", "mime": "image/png",
              "ext": "png", "file_name": f"file-{serial}.png", "size_bytes": 1000,
              "width": 640, "height": 480, "visibility": "public", "title": f"picture {serial}",
              **fields}
    image_id = db.execute(f"INSERT INTO images ({', '.join(values)})"
                          f" VALUES ({', '.join('?' for _ in values)})", list(values.values()))
    if prompt is not None:
        images.insert_metadata(db, image_id, {"prompt": prompt, "model": "sdxl",
                                              "sampler": "euler", "steps": 30, "seed": serial})
    for tag in tag_ids:
        tag_queries.attach(db, image_id, tag, "user", None)
    images.index_image(db, image_id)
    return image_id
