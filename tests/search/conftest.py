"""Fixtures for search tests: pictures written straight into the database.

Uploading real files is slow and fixes sizes, dates and ratings; these tests
need many pictures with chosen fields, tags, favourites and collections.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.db import Database
from app.queries import images
from app.queries import tags as tag_queries

_serial = itertools.count(1)


def add_user(db: Database, username: str, role: str = "user") -> int:
    return db.execute("INSERT INTO users (username, password_hash, role) VALUES (?, 'x', ?)",
                      (username, role))


def add_picture(db: Database, owner_id: int, *, tags: tuple[str, ...] = (),
                prompt: str | None = None, **fields: Any) -> int:
    serial = next(_serial)
    values = {"owner_id": owner_id, "sha256": hashlib.sha256(str(serial).encode()).hexdigest(),
              "kind": "image", "mime": "image/png", "ext": "png",
              "file_name": f"file-{serial}.png", "size_bytes": 1000, "width": 640,
              "height": 480, "visibility": "public", **fields}
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with db.transaction():
        image_id = db.execute(f"INSERT INTO images ({names}) VALUES ({marks})",
                              list(values.values()))
        if prompt is not None:
            images.insert_metadata(db, image_id, {"prompt": prompt})
        ids = [tag_queries.tag_id(db, name, "general") for name in tags]
        for tag in ids:
            tag_queries.attach(db, image_id, tag, "user", None)
        tag_queries.recount(db, ids)
        images.index_image(db, image_id)
    return image_id


def add_alias(db: Database, alias: str, tag: str) -> None:
    tag_id = tag_queries.tag_id(db, tag, "general")
    db.execute("INSERT INTO tag_aliases (alias, tag_id, created_at) VALUES (?, ?, ?)",
               (alias, tag_id, time.time()))


def add_collection(db: Database, owner_id: int, title: str, visibility: str,
                   image_ids: list[int]) -> int:
    now = time.time()
    collection = db.execute(
        "INSERT INTO collections (owner_id, title, visibility, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)", (owner_id, title, visibility, now, now))
    for position, image_id in enumerate(image_ids):
        db.execute("INSERT INTO collection_items (collection_id, image_id, position, added_at)"
                   " VALUES (?, ?, ?, ?)", (collection, image_id, position, now))
    return collection


def add_favourite(db: Database, user_id: int, image_id: int) -> None:
    db.execute("INSERT INTO favourites (user_id, image_id, created_at) VALUES (?, ?, ?)",
               (user_id, image_id, time.time()))


@pytest.fixture
def picture(db: Database) -> Callable[..., int]:
    return lambda owner_id, **fields: add_picture(db, owner_id, **fields)


@pytest.fixture
def search_url(app: Flask) -> str:
    """Where ``app.api.search`` answers. Until the app factory registers it (and drops the
    old ``api.search`` route), it is mounted under a test prefix so its own view is tested.
    Request this fixture before any fixture that sends requests (``alice``, ``bob``)."""
    from app.api import search as api_search
    from app.web import search_help

    if search_help.bp.name not in app.blueprints:
        app.register_blueprint(search_help.bp)
    if api_search.bp.name in app.blueprints and "api.search" not in app.view_functions:
        return "/api/v1/search"
    app.register_blueprint(api_search.bp, name="api_search_test", url_prefix="/api/v1/test")
    return "/api/v1/test/search"
