"""The search language against a real database: every metatag, orders, cursors,
aliases, wildcards, free text with FTS5 syntax in it, and visibility."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from app.db import Database
from app.errors import BadRequest
from app.queries.visibility import Viewer
from app.search import compiler
from app.search.engine import count_sql, explain, run_search, statement_for
from app.search.parser import QueryError
from app.search_cli import search as search_command
from tests.search.conftest import (
    add_alias,
    add_collection,
    add_favourite,
    add_picture,
    add_user,
)


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    return {"alice": add_user(db, "alice"), "bob": add_user(db, "bob")}


def ids(db: Database, viewer: Viewer, query: str, **kwargs: Any) -> list[int]:
    return [row["id"] for row in run_search(db, viewer, query, **kwargs).items]


def every_page(db: Database, viewer: Viewer, query: str, limit: int = 2) -> list[int]:
    found: list[int] = []
    cursor: Any = None
    for _ in range(100):
        page = run_search(db, viewer, query, cursor=cursor, limit=limit)
        found += [row["id"] for row in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("pagination never ended")


# -- tags -----------------------------------------------------------------------------


def test_tags_aliases_and_multi_word_tags(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    cat = add_picture(db, people["alice"], tags=("cat", "red theme"))
    dog = add_picture(db, people["alice"], tags=("dog",))
    both = add_picture(db, people["alice"], tags=("cat", "dog"))
    add_alias(db, "kitty", "cat")
    assert ids(db, alice, "cat") == [both, cat]
    assert ids(db, alice, "kitty") == [both, cat]
    assert ids(db, alice, "red_theme") == [cat]
    assert ids(db, alice, "cat dog") == [both]
    assert ids(db, alice, "cat -dog") == [cat]
    assert ids(db, alice, "~cat ~dog") == [both, dog, cat]
    assert ids(db, alice, "cat or dog") == [both, dog, cat]
    assert ids(db, alice, "(cat or dog) -(cat dog)") == [dog, cat]


def test_common_tags_use_exists(db: Database, people: dict[str, int],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler, "COMMON_TAG", 1)
    first = add_picture(db, people["alice"], tags=("cat",))
    add_picture(db, people["alice"], tags=("dog",))
    alice = Viewer(people["alice"])
    assert ids(db, alice, "cat order:width") == [first]
    assert "EXISTS" in statement_for(db, alice, "cat order:width").sql
    assert ids(db, alice, "ca* order:size") == [first]
    assert "EXISTS" in statement_for(db, alice, "ca* order:size").sql


def test_newest_tag_terms_drive_through_the_tag_index(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    both = add_picture(db, people["alice"], tags=("cat", "red theme"))
    red = add_picture(db, people["alice"], tags=("red", "theme"))
    add_picture(db, people["bob"], tags=("cat", "red theme"), visibility="private")
    statement = statement_for(db, alice, "cat red_theme -dog")
    assert "image_tag_fts MATCH" in statement.sql and "EXISTS" not in statement.sql
    assert "owner_id = ?" in statement.sql  # still AND-ed with listable()
    assert ids(db, alice, "cat red_theme -dog") == [both]
    # one token per tag: 'red theme' never matches the tags 'red' and 'theme'
    assert ids(db, alice, "red_theme") == [both]
    assert ids(db, alice, "red theme") == [red]
    assert ids(db, alice, "red* order:oldest") == [both, red]
    assert every_page(db, alice, "red* -cat", limit=1) == [red]
    sql, params = count_sql(db, alice, "cat")
    assert db.value(sql, params) == 1
    # renaming a tag leaves its token alone
    db.execute("UPDATE tags SET name = 'kitten' WHERE name = 'cat'")
    assert ids(db, alice, "kitten") == [both]


def test_tag_index_follows_edits_and_deletes(db: Database, people: dict[str, int]) -> None:
    from app.queries import images

    alice = Viewer(people["alice"])
    first = add_picture(db, people["alice"], tags=("cat",))
    second = add_picture(db, people["alice"], tags=("cat", "dog"))
    db.execute("DELETE FROM image_tags WHERE image_id = ?", (second,))
    images.index_image(db, second)
    assert ids(db, alice, "cat") == [first]
    images.hard_delete(db, first)
    assert db.value("SELECT count(*) FROM image_tag_fts WHERE image_tag_fts MATCH 't1'") == 0
    assert ids(db, alice, "cat") == []


def test_unknown_word_is_searched_as_text_with_a_note(db: Database,
                                                      people: dict[str, int]) -> None:
    harbour = add_picture(db, people["alice"], title="Harbour walk")
    add_picture(db, people["alice"], title="Mountains")
    page = run_search(db, Viewer(people["alice"]), "harb")
    assert [row["id"] for row in page.items] == [harbour]
    assert any("harb" in note for note in page.notes)


def test_wildcards_expand_against_tags(db: Database, people: dict[str, int],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    alice = Viewer(people["alice"])
    blonde = add_picture(db, people["alice"], tags=("blonde hair",))
    red = add_picture(db, people["alice"], tags=("red hair", "hat"))
    hat = add_picture(db, people["alice"], tags=("hat",))
    assert ids(db, alice, "*_hair") == [red, blonde]
    assert ids(db, alice, "-*_hair") == [hat]
    assert ids(db, alice, "h?t*") == []  # '?' is literal, not a GLOB character
    page = run_search(db, alice, "zebra*")
    assert page.items == [] and any("zebra*" in note for note in page.notes)
    monkeypatch.setattr(compiler, "MAX_EXPANSION", 1)
    page = run_search(db, alice, "*_hair")
    assert len(page.items) == 1 and any("more than 1" in note for note in page.notes)
    with pytest.raises(QueryError) as caught:
        run_search(db, alice, "hat -*_hair")
    assert caught.value.position == 6


def test_too_many_wildcards(db: Database, people: dict[str, int]) -> None:
    with pytest.raises(QueryError) as caught:
        run_search(db, Viewer(people["alice"]), " ".join(f"a{n}*" for n in range(9)))
    assert caught.value.position == 33


# -- free text ------------------------------------------------------------------------


def test_free_text_over_title_prompt_caption_and_file_name(db: Database,
                                                           people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    titled = add_picture(db, people["alice"], title="A quiet harbour")
    prompted = add_picture(db, people["alice"], prompt="a lighthouse at dusk")
    captioned = add_picture(db, people["alice"], caption="a cat on a quiet sofa")
    named = add_picture(db, people["alice"], file_name="IMG_0042.jpg")
    tagged = add_picture(db, people["alice"], tags=("quiet",))
    assert ids(db, alice, '"quiet harbour"') == [titled]
    assert ids(db, alice, '"lighthouse"') == [prompted]
    assert ids(db, alice, '"quiet"') == [captioned, titled]  # not the tag column
    assert ids(db, alice, '"img_0042"') == [named]
    assert ids(db, alice, 'quiet') == [tagged]


@pytest.mark.parametrize("query", [
    '"AND OR NOT"', '"a" "b*"', '"NEAR(a b, 2)"', '"{title}: x"', '"x" - "y"', '"^start"',
    "'single' quote", '"col:umn" +plus', '"é, ü; ß"', '"a""b"', 'a"b', '"\\" OR 1=1 --"',
    "x'; DROP TABLE images; --", "\"'\"", "tag:with:colons*", "[a-z]*", "a?b*",
])
def test_fts_and_sql_syntax_in_queries_is_harmless(db: Database, people: dict[str, int],
                                                    query: str) -> None:
    add_picture(db, people["alice"], title="AND OR NOT near start column")
    with contextlib.suppress(QueryError):
        run_search(db, Viewer(people["alice"]), query)
    assert db.value("SELECT count(*) FROM images") == 1


def test_relevance_orders_by_bm25(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    strong = add_picture(db, people["alice"], title="fox fox fox", caption="fox")
    weak = add_picture(db, people["alice"], title="a fox among many other words here",
                       caption="and more words that dilute it")
    add_picture(db, people["alice"], title="nothing")
    assert ids(db, alice, '"fox" order:relevance') == [strong, weak]
    assert every_page(db, alice, '"fox" order:relevance', limit=1) == [strong, weak]
    page = run_search(db, alice, "order:relevance")
    assert any("relevance" in note for note in page.notes)


# -- metatags -------------------------------------------------------------------------


def test_rating(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    general = add_picture(db, people["alice"], rating="general")
    sensitive = add_picture(db, people["alice"], rating="sensitive")
    explicit = add_picture(db, people["alice"], rating="explicit")
    unrated = add_picture(db, people["alice"])
    assert ids(db, alice, "rating:g") == [general]
    assert ids(db, alice, "rating:g,s") == [sensitive, general]
    assert ids(db, alice, "rating:explicit") == [explicit]
    assert ids(db, alice, "rating:none") == [unrated]
    assert ids(db, alice, "-rating:e") == [unrated, sensitive, general]


def test_nsfw_score_ranges(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    low = add_picture(db, people["alice"], nsfw_score=0.1)
    high = add_picture(db, people["alice"], nsfw_score=0.9)
    add_picture(db, people["alice"])
    assert ids(db, alice, "nsfw:>0.8") == [high]
    assert ids(db, alice, "nsfw:<0.5") == [low]
    assert ids(db, alice, "nsfw:0..1") == [high, low]
    assert ids(db, alice, "nsfw:0.9") == [high]


def test_sizes_megapixels_and_ratio(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    wide = add_picture(db, people["alice"], width=1920, height=1080)
    square = add_picture(db, people["alice"], width=1000, height=1000)
    small = add_picture(db, people["alice"], width=300, height=400)
    assert ids(db, alice, "width:1920") == [wide]
    assert ids(db, alice, "width:>=1000") == [square, wide]
    assert ids(db, alice, "width:>1000") == [wide]
    assert ids(db, alice, "height:..1000") == [small, square]
    assert ids(db, alice, "height:<1000") == [small]
    assert ids(db, alice, "height:500..1080") == [square, wide]
    assert ids(db, alice, "mp:>2") == [wide]
    assert ids(db, alice, "mp:1") == [square]
    assert ids(db, alice, "ratio:16:9") == [wide]
    assert ids(db, alice, "ratio:>1.5") == [wide]
    assert ids(db, alice, "ratio:<1") == [small]


def test_date_and_age(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    old = add_picture(db, people["alice"], created_at="2023-12-31T23:59:59Z")
    may = add_picture(db, people["alice"], created_at="2024-05-01T00:00:00Z")
    june = add_picture(db, people["alice"], created_at="2024-06-15T12:00:00Z")
    recent = add_picture(db, people["alice"],
                         created_at=(datetime.now(UTC) - timedelta(hours=2)).strftime(stamp))
    assert ids(db, alice, "date:2024") == [june, may]
    assert ids(db, alice, "date:2024-05") == [may]
    assert ids(db, alice, "date:2024-05-01") == [may]
    assert ids(db, alice, "date:>2024-05") == [recent, june]
    assert ids(db, alice, "date:<2024") == [old]
    assert ids(db, alice, "date:<=2024-05") == [may, old]
    assert ids(db, alice, "date:2023..2024-05") == [may, old]
    assert ids(db, alice, "date:today") in ([recent], [])  # [] just after midnight UTC
    assert ids(db, alice, "age:<1d") == [recent]
    assert ids(db, alice, "age:1h..1d") == [recent]
    assert ids(db, alice, "age:>1w") == [june, may, old]
    assert ids(db, alice, "age:1h") == []


def test_user(db: Database, people: dict[str, int]) -> None:
    mine = add_picture(db, people["alice"])
    bobs = add_picture(db, people["bob"])
    assert ids(db, Viewer(people["alice"]), "user:bob") == [bobs]
    assert ids(db, Viewer(people["alice"]), "user:ALICE") == [mine]
    assert ids(db, Viewer(people["alice"]), "user:me") == [mine]
    assert ids(db, Viewer(None, public_gallery=True), "user:me") == []
    assert ids(db, Viewer(people["alice"]), "user:nobody") == []


def test_favourites_are_private(db: Database, people: dict[str, int]) -> None:
    first = add_picture(db, people["bob"])
    second = add_picture(db, people["bob"])
    add_favourite(db, people["alice"], first)
    add_favourite(db, people["bob"], second)
    assert ids(db, Viewer(people["alice"]), "fav:me") == [first]
    assert ids(db, Viewer(people["alice"]), "fav:alice") == [first]
    assert ids(db, Viewer(people["alice"]), "fav:bob") == []
    assert ids(db, Viewer(people["bob"]), "fav:me") == [second]
    assert ids(db, Viewer(None, public_gallery=True), "fav:me") == []


def test_collections_respect_their_visibility_and_the_pictures(
        db: Database, people: dict[str, int]) -> None:
    alice, bob = Viewer(people["alice"]), Viewer(people["bob"])
    shown = add_picture(db, people["alice"])
    hidden = add_picture(db, people["alice"], visibility="private")
    public = add_collection(db, people["alice"], "Summer trip", "public", [shown, hidden])
    unlisted = add_collection(db, people["alice"], "Secret plans", "unlisted", [shown])
    private = add_collection(db, people["alice"], "Diary", "private", [shown])
    assert ids(db, alice, f"collection:{public}") == [hidden, shown]
    assert ids(db, bob, f"collection:{public}") == [shown]
    assert ids(db, bob, 'collection:"summer trip"') == [shown]
    assert ids(db, bob, f"collection:{unlisted}") == [shown]
    assert ids(db, bob, 'collection:"Secret plans"') == []
    assert ids(db, bob, f"collection:{private}") == []
    assert ids(db, alice, "collection:Diary") == [shown]


def test_source_peer_and_has(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    plain = add_picture(db, people["alice"])
    captioned = add_picture(db, people["alice"], caption="a cat")
    prompted = add_picture(db, people["alice"], prompt="a dog")
    tagged = add_picture(db, people["alice"], tags=("cat",))
    video = add_picture(db, people["alice"], kind="video", mime="video/mp4", ext="mp4")
    everything = [video, tagged, prompted, captioned, plain]
    assert ids(db, alice, "source:local") == everything
    assert ids(db, alice, "source:remote") == []
    assert ids(db, alice, "-source:remote") == everything
    assert ids(db, alice, "peer:example.org") == []
    assert ids(db, alice, "has:caption") == [captioned]
    assert ids(db, alice, "has:prompt") == [prompted]
    assert ids(db, alice, "has:tags") == [tagged]
    assert ids(db, alice, "has:video") == [video]
    assert ids(db, alice, "-has:caption -has:prompt -has:tags -has:video") == [plain]


# -- orders and cursors ---------------------------------------------------------------


@pytest.fixture
def sized(db: Database, people: dict[str, int]) -> dict[str, int]:
    specs = {"a": (100, 900, 5000, 0.5), "b": (300, 300, 1000, None), "c": (200, 200, 9000, 0.9),
             "d": (300, 100, 3000, 0.1), "e": (50, 50, 10, 0.5)}
    return {name: add_picture(db, people["alice"], width=w, height=h, size_bytes=s,
                              nsfw_score=n) for name, (w, h, s, n) in specs.items()}


@pytest.mark.parametrize(("order", "expected"), [
    ("newest", "edcba"), ("oldest", "abcde"), ("width", "dbcae"), ("height", "abcde"),
    ("size", "cadbe"), ("nsfw", "ceadb"),
])
def test_orders_and_every_page(db: Database, people: dict[str, int], sized: dict[str, int],
                               order: str, expected: str) -> None:
    alice = Viewer(people["alice"])
    wanted = [sized[name] for name in expected]
    assert ids(db, alice, f"order:{order}") == wanted
    assert every_page(db, alice, f"order:{order}", limit=2) == wanted
    assert every_page(db, alice, f"order:{order}", limit=1) == wanted


def test_random_order_pages_through_everything_once(db: Database, people: dict[str, int],
                                                    sized: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    found = every_page(db, alice, "order:random", limit=2)
    assert sorted(found) == sorted(sized.values())


def test_cursors_are_checked(db: Database, people: dict[str, int],
                             sized: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    page = run_search(db, alice, "order:width", limit=2)
    assert isinstance(page.next_cursor, str)
    for query, cursor in (("order:height", page.next_cursor), ("order:width", "12"),
                          ("order:width", "not-a-cursor"), ("order:width", "e30"),
                          ("", "99999999999999999999999")):
        with pytest.raises(BadRequest):
            run_search(db, alice, query, cursor=cursor)
    newest = run_search(db, alice, "", limit=2)
    assert isinstance(newest.next_cursor, int)


def test_owner_filter(db: Database, people: dict[str, int]) -> None:
    mine = add_picture(db, people["alice"], tags=("cat",))
    add_picture(db, people["bob"], tags=("cat",))
    assert ids(db, Viewer(people["alice"]), "cat", owner_id=people["alice"]) == [mine]


def test_timeout_is_a_clear_400(db: Database, people: dict[str, int]) -> None:
    db.execute("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000)"
               " INSERT INTO images (owner_id, sha256, kind, mime, ext, file_name, size_bytes,"
               " width, height, visibility) SELECT ?, printf('%064d', x), 'image', 'image/png',"
               " 'png', 'f.png', x, x, x, 'public' FROM n", (people["alice"],))
    with pytest.raises(BadRequest) as caught:
        run_search(db, Viewer(people["alice"]), "order:random", timeout_ms=0)
    assert "too long" in caught.value.message


def test_count_and_explain_helpers(db: Database, people: dict[str, int]) -> None:
    add_picture(db, people["alice"], tags=("cat",))
    add_picture(db, people["bob"], tags=("cat",), visibility="private")
    sql, params = count_sql(db, Viewer(people["alice"]), "cat")
    assert db.value(sql, params) == 1
    assert explain(db, Viewer(people["alice"]), "cat width:>10")


# -- visibility -----------------------------------------------------------------------


def test_no_construct_widens_visibility(db: Database, people: dict[str, int]) -> None:
    alice = Viewer(people["alice"])
    public = add_picture(db, people["bob"], tags=("cat",))
    add_picture(db, people["bob"], tags=("cat",), visibility="private")
    add_picture(db, people["bob"], tags=("cat",), visibility="unlisted")
    add_picture(db, people["bob"], tags=("cat",), deleted_at="2024-01-01T00:00:00Z")
    for query in ("cat", "cat or -cat", "-dog", "", "user:bob", "(cat or user:bob) or -x",
                  "order:random", "has:tags"):
        assert ids(db, alice, query) == [public], query
    assert ids(db, Viewer(None), "cat") == []
    assert ids(db, Viewer(None, public_gallery=True), "cat") == [public]


# -- the API, the help page and the command -------------------------------------------


def test_api_search_pages_and_errors(search_url: str, app: Flask, alice: Any) -> None:
    db = app.extensions["salon.db"]
    alice_id = db.value("SELECT id FROM users WHERE username = 'alice'")
    made = [add_picture(db, alice_id, width=100 + n, tags=("cat",)) for n in range(3)]
    body = alice.client.get(search_url, query_string={"q": "cat order:width",
                                                      "limit": 2}).get_json()
    assert [r["id"] for r in body["results"]] == [made[2], made[1]]
    rest = alice.client.get(search_url, query_string={"q": "cat order:width",
                                                      "cursor": body["next_cursor"]}).get_json()
    assert [r["id"] for r in rest["results"]] == [made[0]]
    bad = alice.client.get(search_url, query_string={"q": "cat width:abc"})
    assert bad.status_code == 400
    assert bad.get_json()["position"] == 11
    assert "pixels" in bad.get_json()["error"]
    assert alice.client.get(search_url, query_string={"q": "harb"}).get_json()["notes"]


def test_help_page_documents_every_metatag(search_url: str, alice: Any) -> None:
    from app.search.syntax import ORDERS
    from app.search.values import METATAGS

    text = alice.page("/search/help").get_text()
    for key in METATAGS:
        assert f"{key}:" in text
    for order in ORDERS:
        assert f"order:{order}" in text


def test_help_page_follows_the_gallery_setting(search_url: str, client: Any, alice: Any,
                                               db: Database) -> None:
    from app.queries.settings import set_setting

    assert client.get("/search/help").status_code == 302
    set_setting(db, "public_gallery", True)
    assert client.get("/search/help").status_code == 200


def test_search_command(app: Flask, db: Database, people: dict[str, int]) -> None:
    public = add_picture(db, people["alice"], tags=("cat",), title="Tabby")
    private = add_picture(db, people["alice"], tags=("cat",), visibility="private")
    runner = CliRunner()
    result = runner.invoke(search_command, ["cat"], obj=app)
    assert result.exit_code == 0 and "Tabby" in result.output
    result = runner.invoke(search_command, ["cat", "--user", "alice", "--json"], obj=app)
    assert [r["id"] for r in json.loads(result.output)["results"]] == [private, public]
    result = runner.invoke(search_command, ["cat width:abc"], obj=app)
    assert result.exit_code == 2
    assert "column 11" in result.output and "          ^" in result.output
    assert runner.invoke(search_command, ["cat", "--user", "nobody"], obj=app).exit_code == 2
