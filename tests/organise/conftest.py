"""Fixtures for the organising features: the app with their blueprints and commands
wired (until the factory registers them), row builders and an admin browser."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.queries import images
from tests.conftest import Browser

_counter = itertools.count(1)


def wire(app: Flask) -> None:
    """Register the organise blueprints and CLI groups if the factory has not yet."""
    from app.api import organise as organise_api
    from app.cli import main
    from app.organise_cli import collections_group, tags
    from app.web import collections
    from app.web import tags as tag_pages

    for blueprint in (tag_pages.bp, collections.bp, organise_api.bp):
        if blueprint.name not in app.blueprints:
            app.register_blueprint(blueprint)
    for command in (tags, collections_group):
        if command.name not in main.commands:
            main.add_command(command)


@pytest.fixture
def app(app: Flask) -> Flask:
    wire(app)
    return app


@pytest.fixture
def user_id(db: Any) -> Callable[[str], int]:
    def find(username: str) -> int:
        return int(db.value("SELECT id FROM users WHERE username = ?", (username,)))

    return find


@pytest.fixture
def picture(db: Any, user_id: Callable[[str], int]) -> Callable[..., int]:
    """Build a live picture row for ``owner`` (no files: pages only link to them)."""

    def build(owner: str = "alice", visibility: str = "private", title: str = "") -> int:
        number = next(_counter)
        with db.transaction():
            image_id = images.insert_image(db, {
                "owner_id": user_id(owner), "sha256": hashlib.sha256(str(number).encode())
                .hexdigest(), "kind": "image", "mime": "image/jpeg", "ext": "jpg",
                "file_name": f"p{number}.jpg", "size_bytes": 100, "width": 64, "height": 48,
                "visibility": visibility, "title": title})
            images.index_image(db, image_id)
        return image_id

    return build


@pytest.fixture
def root(admin: Browser) -> Browser:
    """The organise tests' name for the admin account."""
    return admin

