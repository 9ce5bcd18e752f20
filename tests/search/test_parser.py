"""The search language's parser: every construct, precedence, and error columns."""

from __future__ import annotations

import pytest

from app.search.parser import order_of, parse
from app.search.syntax import (
    MAX_LENGTH,
    MAX_TERMS,
    And,
    Meta,
    Not,
    Or,
    QueryError,
    Range,
    Tag,
    Text,
    Wildcard,
)


def shape(node: object) -> object:
    """A compact picture of a tree, for readable assertions."""
    if isinstance(node, Tag):
        return node.name
    if isinstance(node, Wildcard):
        return ("*", node.pattern)
    if isinstance(node, Text):
        return ("text", node.text)
    if isinstance(node, Meta):
        return (node.key, node.value)
    if isinstance(node, Not):
        return ("not", shape(node.child))
    if isinstance(node, And):
        return ("and", *(shape(child) for child in node.children))
    assert isinstance(node, Or)
    return ("or", *(shape(child) for child in node.children))


def error_at(query: str) -> tuple[str, int]:
    with pytest.raises(QueryError) as caught:
        parse(query)
    return caught.value.message, caught.value.position


# -- constructs -----------------------------------------------------------------------


def test_empty_query_matches_everything() -> None:
    assert shape(parse("")) == ("and",)
    assert shape(parse("   ")) == ("and",)


def test_words_are_tags_anded() -> None:
    assert shape(parse("cat dog")) == ("and", "cat", "dog")


def test_underscores_are_spaces_and_case_is_folded() -> None:
    assert shape(parse("Red_Theme")) == "red theme"


def test_kaomoji_keep_underscores_and_parentheses() -> None:
    assert shape(parse("^_^ (o)_(o)")) == ("and", "^_^", "(o)_(o)")


def test_tag_with_own_parentheses_inside_a_group() -> None:
    assert shape(parse("(cosplay_(anime) or x)")) == ("or", "cosplay (anime)", "x")
    assert shape(parse("(cosplay_(anime))")) == "cosplay (anime)"


def test_negation() -> None:
    assert shape(parse("cat -dog")) == ("and", "cat", ("not", "dog"))


def test_tilde_terms_form_one_or_group() -> None:
    assert shape(parse("sky ~cat ~dog")) == ("and", "sky", ("or", "cat", "dog"))
    assert shape(parse("~cat")) == "cat"


def test_or_keyword_in_either_case() -> None:
    assert shape(parse("cat or dog")) == ("or", "cat", "dog")
    assert shape(parse("cat OR dog")) == ("or", "cat", "dog")


def test_parentheses_group() -> None:
    assert shape(parse("(cat or dog) sky")) == ("and", ("or", "cat", "dog"), "sky")
    assert shape(parse("-(cat dog)")) == ("not", ("and", "cat", "dog"))


def test_wildcards() -> None:
    assert shape(parse("cat*")) == ("*", "cat*")
    assert shape(parse("*_hair")) == ("*", "* hair")
    assert shape(parse("-cat*")) == ("not", ("*", "cat*"))


def test_quoted_free_text() -> None:
    assert shape(parse('"a quiet harbour" cat')) == ("and", ("text", "a quiet harbour"), "cat")
    assert shape(parse('-"night"')) == ("not", ("text", "night"))


def test_unclosed_quote_runs_to_the_end() -> None:
    assert shape(parse('"unbalanced (quote OR')) == ("text", "unbalanced (quote OR")


# -- precedence -----------------------------------------------------------------------


def test_or_binds_looser_than_and() -> None:
    assert shape(parse("a b or c")) == ("or", ("and", "a", "b"), "c")
    assert shape(parse("a or b c")) == ("or", "a", ("and", "b", "c"))


def test_minus_binds_tightest() -> None:
    assert shape(parse("-a or b")) == ("or", ("not", "a"), "b")
    assert shape(parse("~-a ~b")) == ("or", ("not", "a"), "b")


def test_tilde_and_or_together() -> None:
    assert shape(parse("a ~b ~c or d")) == ("or", ("and", "a", ("or", "b", "c")), "d")


def test_nested_groups() -> None:
    assert shape(parse("((a or b) -(c d))")) == ("and", ("or", "a", "b"),
                                                 ("not", ("and", "c", "d")))


# -- metatags -------------------------------------------------------------------------


def test_rating_codes_names_and_lists() -> None:
    assert shape(parse("rating:g")) == ("rating", ("general",))
    assert shape(parse("rating:s,Q,explicit")) == ("rating",
                                                   ("sensitive", "questionable", "explicit"))
    assert shape(parse("rating:none")) == ("rating", ("none",))


@pytest.mark.parametrize(("query", "expected"), [
    ("width:1920", Range(1920, 1920)),
    ("width:>1920", Range(low=1920, low_inclusive=False)),
    ("width:>=1920", Range(low=1920)),
    ("height:<720", Range(high=720, high_inclusive=False)),
    ("height:<=720", Range(high=720)),
    ("height:100..200", Range(100, 200)),
    ("height:100..", Range(100, None)),
    ("height:..200", Range(None, 200)),
])
def test_numeric_ranges(query: str, expected: Range) -> None:
    assert parse(query) == Meta(query.split(":")[0], expected, 1)


def test_float_metatags_and_tolerance() -> None:
    assert parse("nsfw:>0.8").value == Range(low=0.8, low_inclusive=False)
    assert parse("mp:>2").value == Range(low=2.0, low_inclusive=False)
    ratio = parse("ratio:16:9").value
    assert ratio.low < 16 / 9 < ratio.high
    assert parse("ratio:>1.5").value == Range(low=1.5, low_inclusive=False)


def test_dates_are_half_open_periods() -> None:
    assert parse("date:2024").value == Range("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z",
                                             True, False)
    assert parse("date:2024-12").value.high == "2025-01-01T00:00:00Z"
    assert parse("date:2024-02-29").value.high == "2024-03-01T00:00:00Z"
    assert parse("date:>2024-05").value == Range("2024-06-01T00:00:00Z", None, True, False)
    assert parse("date:<=2024").value == Range(None, "2025-01-01T00:00:00Z", True, False)
    assert parse("date:<2024").value == Range(None, "2024-01-01T00:00:00Z", True, False)
    assert parse("date:2023..2024-06").value == Range("2023-01-01T00:00:00Z",
                                                      "2024-07-01T00:00:00Z", True, False)
    assert parse("date:today").value.low.endswith("T00:00:00Z")


def test_ages_in_seconds() -> None:
    assert parse("age:<7d").value == Range(high=7 * 86400, high_inclusive=False)
    assert parse("age:12h").value == Range(high=12 * 3600)
    assert parse("age:2w..3mo").value == Range(2 * 7 * 86400, 90 * 86400)
    assert parse("age:>1y").value == Range(low=365 * 86400, low_inclusive=False)


def test_name_metatags() -> None:
    query = 'user:Alice fav:me collection:12 collection:"Summer trip" peer:example.org'
    assert shape(parse(query)) == ("and", ("user", "Alice"), ("fav", "me"), ("collection", 12),
                                   ("collection", "Summer trip"), ("peer", "example.org"))


def test_choice_metatags() -> None:
    assert shape(parse("source:LOCAL has:caption has:video")) == (
        "and", ("source", "local"), ("has", "caption"), ("has", "video"))


def test_metatag_key_is_case_insensitive_and_inside_groups() -> None:
    assert shape(parse("(Rating:e or width:>10)")) == (
        "or", ("rating", ("explicit",)), ("width", Range(low=10, low_inclusive=False)))


def test_order() -> None:
    for order in ("newest", "oldest", "random", "width", "height", "size", "nsfw", "relevance"):
        assert order_of(parse(f"cat order:{order}")) == order
    assert order_of(parse("cat")) == "newest"


def test_colon_words_that_are_not_metatag_shaped_are_tags() -> None:
    assert shape(parse(":3 16:9")) == ("and", ":3", "16:9")


# -- errors and their columns ---------------------------------------------------------


@pytest.mark.parametrize(("query", "position", "fragment"), [
    ("(cat dog", 1, "never closed"),
    ("cat (dog or (sky)", 5, "never closed"),
    ("cat)", 4, "closes nothing"),
    ("cat ) dog", 5, "closes nothing"),
    ("()", 1, "empty"),
    ("or cat", 1, "before"),
    ("cat or", 5, "after"),
    ("cat or or dog", 5, "after"),
    ("(cat or) dog", 6, "after"),
    ("cat - dog", 5, "without a space"),
    ("cat ~", 5, "without a space"),
    ("cat -)", 5, "Nothing follows"),
    ("--cat", 2, "one '-'"),
    ("-~cat", 2, "one '-'"),
    ("foo:bar", 1, "Unknown metatag"),
    ("cat ratng:g", 5, "Unknown metatag"),
    ("rating:", 8, "needs a value"),
    ("rating:x", 8, "not a rating"),
    ("rating:g,x", 10, "not a rating"),
    ("width:abc", 7, "pixels"),
    ("width:>abc", 8, "pixels"),
    ("width:10..abc", 11, "pixels"),
    ("width:-5", 7, "pixels"),
    ("width:..", 7, "at least one end"),
    ("width:200..100", 7, "ends before"),
    ("nsfw:1.5", 6, "0 to 1"),
    ("mp:lots", 4, "megapixels"),
    ("ratio:16:0", 7, "ratio"),
    ("date:2024-13-01", 6, "date"),
    ("date:2024-02-30", 6, "date"),
    ("date:24", 6, "date"),
    ("age:7", 5, "age"),
    ("age:7m", 5, "age"),
    ("has:wings", 5, "one of"),
    ("order:best", 7, "one of"),
    ("source:mars", 8, "one of"),
    ('user:"alice', 6, "Close the quoted value"),
    ('""', 1, "letter or digit"),
    ('"!!!"', 1, "letter or digit"),
    ("*", 1, "wildcard"),
    ("cat (dog order:width)", 10, "top level"),
    ("cat or order:width", 8, "top level"),
    ("-order:width", 2, "top level"),
    ("order:width order:random", 13, "once"),
])
def test_errors_name_the_column(query: str, position: int, fragment: str) -> None:
    message, column = error_at(query)
    assert column == position, message
    assert fragment.lower() in message.lower()


def test_query_error_is_a_400_with_position() -> None:
    with pytest.raises(QueryError) as caught:
        parse("width:abc")
    assert caught.value.status == 400
    assert caught.value.to_dict() == {"error": caught.value.message, "position": 7}


def test_huge_queries_are_refused() -> None:
    assert error_at("a" * (MAX_LENGTH + 1))[1] == MAX_LENGTH + 1
    message, column = error_at(" ".join(f"t{n}" for n in range(MAX_TERMS + 1)))
    assert "at most" in message
    assert column == len(" ".join(f"t{n}" for n in range(MAX_TERMS))) + 2


def test_deep_nesting_is_refused() -> None:
    message, column = error_at("(" * 40 + "a" + ")" * 40)
    assert "deep" in message
    assert column == 17


def test_control_characters_in_a_tag_are_an_error_at_the_tag() -> None:
    assert error_at("cat do\x01g")[1] == 5


def test_nodes_are_immutable() -> None:
    node = parse("cat")
    with pytest.raises(AttributeError):
        node.name = "dog"  # type: ignore[misc]


@pytest.mark.parametrize(("query", "column"), [(")", 1), ("()", 1), ("cat ( )", 5), ("a or )", 3)])
def test_empty_groups_and_stray_parentheses_name_the_column(query: str, column: int) -> None:
    with pytest.raises(QueryError) as error:
        parse(query)
    assert error.value.position == column
