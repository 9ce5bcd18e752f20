"""``salon tags ...`` and ``salon collections list``."""

from __future__ import annotations

import json

from app import collections
from app.tagging import edit_tags
from tests.organise.helpers import count_of, tag_names


def test_tags_commands(runner, alice, picture, db) -> None:
    image_id = picture("alice")
    edit_tags(db, image_id, ["kitty", "cat ears"], [])
    assert runner.invoke(["tags", "rename", "kitty", "cat"]).exit_code == 0
    assert runner.invoke(["tags", "alias", "neko", "cat"]).exit_code == 0
    assert runner.invoke(["tags", "imply", "cat_ears", "animal ears"]).exit_code == 0
    assert tag_names(db, image_id) == ["animal ears", "cat", "cat ears"]
    listed = json.loads(runner.invoke(["tags", "list", "--prefix", "ca", "--json"]).output)
    assert [(row["name"], row["aliases"]) for row in listed] == [
        ("cat", "kitty, neko"), ("cat ears", None)]
    text = runner.invoke(["tags", "list"]).output
    assert "cat ears  -> animal ears" in text
    assert runner.invoke(["tags", "merge", "cat ears", "animal ears"]).exit_code == 0
    assert count_of(db, "animal ears") == 1
    assert runner.invoke(["tags", "category", "cat", "character"]).exit_code == 0
    assert runner.invoke(["tags", "delete", "cat"]).output.strip() == (
        "deleted 'cat' from 1 picture(s)")
    assert tag_names(db, image_id) == ["animal ears"]


def test_tags_command_errors(runner) -> None:
    result = runner.invoke(["tags", "imply", "a", "a"])
    assert result.exit_code == 2 and "cannot imply itself" in result.output
    assert runner.invoke(["tags", "delete", "nothing"]).exit_code == 2


def test_collections_list(runner, alice, db, user_id) -> None:
    collections.create(db, user_id("alice"), {"title": "Cats", "visibility": "public"})
    collections.create(db, user_id("alice"), {"title": "Secret"})
    rows = json.loads(runner.invoke(["collections", "list", "--user", "alice", "--json"]).output)
    assert sorted(row["title"] for row in rows) == ["Cats", "Secret"]
    assert "Secret" in runner.invoke(["collections", "list", "--user", "alice"]).output
    assert runner.invoke(["collections", "list", "--user", "nobody"]).exit_code == 2
