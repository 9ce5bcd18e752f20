"""Property tests: random users, pictures, visibility and queries.

Whatever the query (from the grammar or plain junk) and whoever asks, a
search either answers or refuses with a ``QueryError``, never anything else;
and every picture it returns is one the viewer may see in a list.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import Database
from app.queries.visibility import Viewer, listable
from app.search.engine import run_search
from app.search.parser import QueryError
from tests.search.conftest import (
    add_alias,
    add_collection,
    add_favourite,
    add_picture,
    add_user,
)

USERS = ("alice", "bob", "carol")
TAGS = ("cat", "dog", "red theme", "blue hair", "hat", "(o)_(o)")
WORDS = ("cat", "dog", "kitty", "red_theme", "blue_hair", "hat", "(o)_(o)", "ca*", "*hair",
         "*_*", "harbour", "zebra", "h?t", "[a]*", "or_not")
METAS = ("rating:g", "rating:s,q,e", "rating:none", "nsfw:>0.5", "nsfw:0.1..0.9", "width:>300",
         "height:..500", "mp:>0.2", "ratio:4:3", "ratio:>1", "date:2024", "date:>=2024-06",
         "date:2023..2024-03", "age:<7d", "age:>1y", "user:alice", "user:bob", "user:me",
         "fav:me", "fav:bob", "collection:1", "collection:2", 'collection:"Trip"',
         "source:local", "source:remote", "peer:x.org", "has:caption", "has:prompt",
         "has:tags", "has:video")
ORDERS = ("newest", "oldest", "random", "width", "height", "size", "nsfw", "relevance")
TABLES = ("collection_items", "collections", "favourites", "image_tags", "tag_aliases",
          "image_metadata", "images", "tags")

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

picture_strategy = st.fixed_dictionaries({
    "owner": st.integers(0, len(USERS) - 1),
    "visibility": st.sampled_from(("public", "unlisted", "private")),
    "deleted": st.booleans(),
    "tags": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
    "rating": st.sampled_from((None, "general", "sensitive", "questionable", "explicit")),
    "nsfw": st.one_of(st.none(), st.floats(0, 1)),
    "width": st.integers(1, 2000),
    "height": st.integers(1, 2000),
    "caption": st.sampled_from((None, "", "a cat by the harbour", "dog AND \"quotes\"")),
    "created_at": st.sampled_from(("2023-01-05T10:00:00Z", "2024-02-29T23:59:59Z",
                                   "2024-07-01T00:00:00Z", "2030-01-01T00:00:00Z")),
    "fav_by": st.lists(st.integers(0, len(USERS) - 1), max_size=2, unique=True),
    "in_collection": st.sampled_from((None, 0, 1)),
})

world_strategy = st.fixed_dictionaries({
    "pictures": st.lists(picture_strategy, max_size=10),
    "collections": st.tuples(st.sampled_from(("public", "unlisted", "private")),
                             st.sampled_from(("public", "unlisted", "private"))),
})

viewer_strategy = st.one_of(
    st.builds(lambda public: (None, public), st.booleans()),
    st.builds(lambda index: (index, False), st.integers(0, len(USERS) - 1)),
)

text_strategy = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
atom = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(METAS),
    text_strategy.map(lambda text: '"' + text.replace('"', "") + '"'),
)


def _combine(inner: Any) -> Any:
    pair = st.tuples(inner, inner)
    return st.one_of(
        pair.map(" ".join),
        pair.map(lambda p: f"{p[0]} or {p[1]}"),
        pair.map(lambda p: f"~{p[0]} ~{p[1]}"),
        inner.map(lambda q: f"-{q}"),
        inner.map(lambda q: f"({q})"),
    )


expression = st.recursive(atom, _combine, max_leaves=8)
grammar_query = st.tuples(expression, st.one_of(st.just(""), st.sampled_from(ORDERS).map(
    lambda order: f" order:{order}"))).map("".join)
junk_query = st.one_of(
    st.text(max_size=60),
    st.text(alphabet='()-~"*:.,<>=_ orOR abc19gse', max_size=40),
)


@pytest.fixture
def world_db(db: Database) -> Database:
    for name in USERS:
        add_user(db, name)
    return db


def _build(db: Database, world: dict[str, Any]) -> list[int]:
    for table in TABLES:
        db.execute(f"DELETE FROM {table}")
    db.execute("DELETE FROM images_fts")
    user_ids = [db.value("SELECT id FROM users WHERE username = ?", (n,)) for n in USERS]
    add_alias(db, "kitty", "cat")
    collected: list[list[int]] = [[], []]
    for spec in world["pictures"]:
        image_id = _add(db, user_ids, spec)
        for fan in spec["fav_by"]:
            add_favourite(db, user_ids[fan], image_id)
        if spec["in_collection"] is not None:
            collected[spec["in_collection"]].append(image_id)
    for index, visibility in enumerate(world["collections"]):
        add_collection(db, user_ids[index], "Trip", visibility, collected[index])
    return user_ids


def _add(db: Database, user_ids: list[int], spec: dict[str, Any]) -> int:
    return add_picture(
        db, user_ids[spec["owner"]], tags=tuple(spec["tags"]), visibility=spec["visibility"],
        rating=spec["rating"], nsfw_score=spec["nsfw"], width=spec["width"],
        height=spec["height"], caption=spec["caption"], created_at=spec["created_at"],
        deleted_at="2024-01-01T00:00:00Z" if spec["deleted"] else None,
        prompt="a quiet harbour" if spec["width"] % 2 else None,
        kind="video" if spec["height"] % 5 == 0 else "image")


def _viewer(user_ids: list[int], chosen: tuple[int | None, bool]) -> Viewer:
    index, public = chosen
    if index is None:
        return Viewer(None, public_gallery=public)
    return Viewer(user_ids[index])


def _allowed(db: Database, viewer: Viewer) -> set[int]:
    condition, params = listable(viewer)
    return {row["id"] for row in db.all(f"SELECT i.id FROM images i WHERE {condition}", params)}


def _expected_visible(db: Database, viewer: Viewer) -> set[int]:
    """The visibility rule restated in Python, independently of ``listable``."""
    rows = db.all("SELECT id, owner_id, visibility, deleted_at FROM images")
    return {row["id"] for row in rows if row["deleted_at"] is None and (
        (row["visibility"] == "public" and (not viewer.anonymous or viewer.public_gallery))
        or (viewer.user_id is not None and row["owner_id"] == viewer.user_id))}


def _check(db: Database, viewer: Viewer, query: str) -> None:
    allowed = _allowed(db, viewer)
    assert allowed == _expected_visible(db, viewer)
    try:
        page = run_search(db, viewer, query, limit=200)
    except QueryError as error:
        assert 1 <= error.position <= len(query) + 1, (query, error.position)
        return
    found = [row["id"] for row in page.items]
    assert set(found) <= allowed, query
    assert len(found) == len(set(found)), query
    _pages_agree(db, viewer, query, found)


def _pages_agree(db: Database, viewer: Viewer, query: str, found: list[int]) -> None:
    """Paging three at a time visits the same pictures (same order unless random)."""
    paged: list[int] = []
    cursor: Any = None
    for _ in range(20):
        page = run_search(db, viewer, query, cursor=cursor, limit=3)
        paged += [row["id"] for row in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    if "order:random" in query:
        assert sorted(paged) == sorted(found), query
    else:
        assert paged == found, query


@SETTINGS
@given(world=world_strategy, chosen=viewer_strategy, query=grammar_query)
def test_grammar_queries_never_fail_and_never_leak(world_db: Database, world: dict[str, Any],
                                                   chosen: tuple[int | None, bool],
                                                   query: str) -> None:
    user_ids = _build(world_db, world)
    _check(world_db, _viewer(user_ids, chosen), query)


@SETTINGS
@given(world=world_strategy, chosen=viewer_strategy, query=junk_query)
def test_junk_queries_never_fail_and_never_leak(world_db: Database, world: dict[str, Any],
                                                chosen: tuple[int | None, bool],
                                                query: str) -> None:
    user_ids = _build(world_db, world)
    _check(world_db, _viewer(user_ids, chosen), query)
