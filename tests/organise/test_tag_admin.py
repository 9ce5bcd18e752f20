"""Aliases, implications, rename, merge, category and delete, through the services."""

from __future__ import annotations

import pytest

from app import tag_admin
from app.errors import BadRequest, Conflict, NotFound
from app.queries.images import search_images
from app.queries.visibility import Viewer
from app.tagging import edit_tags, set_model_tags
from tests.organise.helpers import count_of, tag_names


@pytest.fixture
def pic(alice, picture):
    return picture("alice")


def test_tagging_with_an_alias_stores_the_tag(db, pic, picture) -> None:
    tag_admin.add_alias(db, "kitty", "cat")
    edit_tags(db, pic, ["Kitty"], [])
    assert tag_names(db, pic) == ["cat"]
    other = picture("alice")
    set_model_tags(db, other, "wd14", [("kitty", "general", 0.8)])
    assert tag_names(db, other) == ["cat"]
    assert count_of(db, "cat") == 2 and count_of(db, "kitty") is None
    assert tag_admin.resolve(db, "KITTY") == "cat"
    edit_tags(db, pic, [], ["kitty"])  # removing by the alias removes the tag
    assert tag_names(db, pic) == []


def test_an_alias_onto_an_existing_tag_merges_it(db, pic) -> None:
    edit_tags(db, pic, ["kitty", "cute"], [])
    tag_admin.add_alias(db, "kitty", "cat")
    assert tag_names(db, pic) == ["cat", "cute"]
    assert count_of(db, "kitty") is None and count_of(db, "cat") == 1
    tag_admin.remove_alias(db, "kitty")
    edit_tags(db, pic, ["kitty"], [])
    assert tag_names(db, pic) == ["cat", "cute", "kitty"]


def test_alias_of_itself_is_refused(db) -> None:
    with pytest.raises(BadRequest):
        tag_admin.add_alias(db, "cat", "cat")


def test_implications_are_applied_transitively(db, pic) -> None:
    tag_admin.add_implication(db, "cat_ears", "animal ears")
    tag_admin.add_implication(db, "animal ears", "animal")
    edit_tags(db, pic, ["cat_ears"], [])
    assert tag_names(db, pic) == ["animal", "animal ears", "cat ears"]
    assert [count_of(db, name) for name in ("animal", "animal ears", "cat ears")] == [1, 1, 1]
    hits = search_images(db, Viewer(None, is_admin=True, public_gallery=True), '"animal"')
    assert hits == []  # private picture: not listed to others
    own = search_images(db, Viewer(int(db.value("SELECT owner_id FROM images WHERE id = ?",
                                                (pic,)))), '"animal"')
    assert [row["id"] for row in own] == [pic]


def test_new_implication_reaches_pictures_already_tagged(db, pic, picture) -> None:
    edit_tags(db, pic, ["cat ears"], [])
    removed_there = picture("alice")
    edit_tags(db, removed_there, ["cat ears", "animal ears"], [])
    edit_tags(db, removed_there, [], ["animal ears"])
    tag_admin.add_implication(db, "cat ears", "animal ears")
    assert tag_names(db, pic) == ["animal ears", "cat ears"]
    assert tag_names(db, removed_there) == ["cat ears"]  # the owner removed it there
    assert count_of(db, "animal ears") == 1


def test_a_models_implied_tags_go_with_its_tags(db, pic) -> None:
    tag_admin.add_implication(db, "cat ears", "animal ears")
    set_model_tags(db, pic, "wd14", [("cat_ears", "general", 0.9)])
    rows = db.all("SELECT t.name, it.source, it.confidence FROM image_tags it"
                  " JOIN tags t ON t.id = it.tag_id WHERE it.image_id = ? ORDER BY t.name",
                  (pic,))
    assert rows == [{"name": "animal ears", "source": "wd14", "confidence": 0.9},
                    {"name": "cat ears", "source": "wd14", "confidence": 0.9}]
    set_model_tags(db, pic, "wd14", [("dog", "general", 0.7)])
    assert tag_names(db, pic) == ["dog"]
    assert count_of(db, "animal ears") == 0


def test_implication_cycles_are_refused(db) -> None:
    tag_admin.add_implication(db, "a", "b")
    tag_admin.add_implication(db, "b", "c")
    with pytest.raises(Conflict):
        tag_admin.add_implication(db, "c", "a")
    with pytest.raises(BadRequest):
        tag_admin.add_implication(db, "a", "a")
    assert tag_admin.implied(db, [tag_admin.require(db, "a")["id"]]) == {
        tag_admin.require(db, name)["id"] for name in "abc"}
    tag_admin.remove_implication(db, "b", "c")
    tag_admin.add_implication(db, "c", "a")  # no longer a cycle
    with pytest.raises(NotFound):
        tag_admin.remove_implication(db, "b", "c")


def test_rename_keeps_counts_and_the_old_name_as_alias(db, pic, picture) -> None:
    edit_tags(db, pic, ["kitty"], [])
    tag_admin.rename(db, "kitty", "cat")
    assert tag_names(db, pic) == ["cat"] and count_of(db, "cat") == 1
    other = picture("alice")
    edit_tags(db, other, ["kitty"], [])
    assert tag_names(db, other) == ["cat"] and count_of(db, "cat") == 2
    owner = Viewer(int(db.value("SELECT owner_id FROM images WHERE id = ?", (pic,))))
    assert {row["id"] for row in search_images(db, owner, '"cat"')} == {pic, other}


def test_rename_onto_an_existing_tag_merges(db, pic, picture) -> None:
    edit_tags(db, pic, ["kitty"], [])
    other = picture("alice")
    edit_tags(db, other, ["cat", "kitty"], [])
    tag_admin.rename(db, "kitty", "cat")
    assert tag_names(db, pic) == ["cat"] and tag_names(db, other) == ["cat"]
    assert count_of(db, "cat") == 2 and count_of(db, "kitty") is None


def test_rename_onto_another_tags_alias_is_refused(db) -> None:
    tag_admin.add_alias(db, "kitty", "cat")
    tag_admin.add_implication(db, "dog", "animal")
    with pytest.raises(Conflict):
        tag_admin.rename(db, "dog", "kitty")


def test_merge_prefers_the_owners_tag_and_moves_implications(db, pic, picture) -> None:
    set_model_tags(db, pic, "wd14", [("cat", "general", 0.6)])
    edit_tags(db, pic, ["kitty"], [])
    only_kitty = picture("alice")
    edit_tags(db, only_kitty, ["kitty"], [])
    tag_admin.add_implication(db, "kitty", "pet")
    tag_admin.merge(db, "kitty", "cat")
    source = db.value("SELECT it.source FROM image_tags it JOIN tags t ON t.id = it.tag_id"
                      " WHERE it.image_id = ? AND t.name = 'cat'", (pic,))
    assert source == "user"
    assert count_of(db, "cat") == 2 and count_of(db, "kitty") is None
    assert tag_admin.details(db, "cat")["implies"] == ["pet"]
    assert tag_admin.resolve(db, "kitty") == "cat"
    with pytest.raises(BadRequest):
        tag_admin.merge(db, "cat", "kitty")  # the same tag now


def test_merge_drops_implications_that_would_loop(db) -> None:
    tag_admin.add_implication(db, "a", "c")
    tag_admin.add_implication(db, "c", "b")
    tag_admin.merge(db, "a", "b")
    assert tag_admin.details(db, "b")["implies"] == []
    assert tag_admin.details(db, "c")["implies"] == ["b"]


def test_delete_removes_it_from_pictures_and_search(db, pic) -> None:
    edit_tags(db, pic, ["cat", "cute"], [])
    assert tag_admin.delete(db, "cat") == 1
    assert tag_names(db, pic) == ["cute"] and count_of(db, "cute") == 1
    owner = Viewer(int(db.value("SELECT owner_id FROM images WHERE id = ?", (pic,))))
    assert search_images(db, owner, '"cat"') == []
    with pytest.raises(NotFound):
        tag_admin.delete(db, "cat")


def test_category(db, pic) -> None:
    edit_tags(db, pic, ["hatsune miku"], [])
    assert tag_admin.set_category(db, "hatsune_miku", "character")["category"] == "character"
    with pytest.raises(BadRequest):
        tag_admin.set_category(db, "hatsune miku", "nonsense")
