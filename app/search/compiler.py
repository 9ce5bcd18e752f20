"""Compile a parsed query into one SQL condition over ``images i``.

Why it looks like this:

* Only placeholders carry user text. FTS5 expressions are built from the
  letters and digits of the words (each phrase quoted), so nothing a person
  types can form an FTS5 operator or a syntax error.
* Visibility comes from ``listable`` alone and is AND-ed around the whole
  condition, so no construct (an OR, a NOT, a collection) can widen it.
* Tags resolve to ids (aliases to their tag, wildcards to at most
  ``MAX_EXPANSION`` tags). In a newest/oldest search, the top-level tag terms
  (tags, wildcards, ``~`` groups, ``-tag``) become one FTS5 expression over
  ``image_tag_fts``, where each tag is the single token ``t<id>``: FTS5
  intersects the doclists and yields ids in order, so a page stops early
  (``Compiled.driver``; the engine joins on it). Elsewhere, and for any tag
  inside an OR with other terms, tags are matched through ``image_tags``: a
  rare tag as ``i.id IN (...)`` (few rows, drives the query), a common one as
  a correlated ``EXISTS`` (an index walk stops after a page). A word that
  names no tag and no alias is searched as text (prefix) over every indexed
  field, with a note saying so.
* ``NOT`` is ``NOT coalesce(x, 0)``: a missing value (no rating, no NSFW
  score) counts as "does not match", so ``-rating:e`` keeps unrated pictures.
* Federation: ``source:local`` / ``source:remote`` split on ``i.peer_id``;
  ``peer:NAME`` takes the peer's name or host (``host`` or ``host:port``),
  resolved to peer ids first (there are few peers).
* Favourites are private: ``fav:me`` (or your own name) is yours; another
  user's name matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from app.db import Database
from app.queries.visibility import Viewer, listable
from app.search.syntax import And, Meta, Node, Not, Or, QueryError, Range, Tag, Text, Wildcard

SQL = tuple[str, list[Any]]

MAX_EXPANSION = 100
MAX_WILDCARDS = 8
COMMON_TAG = 20_000
TAG_TERM = "t{}"  # a tag in image_tag_fts: "t" and its id
# order:random walks a fixed shuffle of the ids from a start point drawn from
# the seed, and wraps around once. Identical to images_live_shuffle (0005).
SHUFFLE = "((i.id * 2654435761) % 4294967296)"
SHUFFLE_SPAN = 4_294_967_296
TEXT_COLUMNS = "{title description file_name prompt caption}"
NOTHING: SQL = ("0", [])
EVERYTHING: SQL = ("1", [])


@dataclass(frozen=True)
class Lap:
    """A run of results sorted on ``walk`` (an indexed expression) then id.

    Rows in the lap satisfy ``condition``; their sort key (what a cursor
    carries) is ``walk + offset``, or the constant ``offset`` when ``walk`` is
    None (then the lap is sorted by id alone). Laps follow each other, so the
    keys of a later lap all sort after those of an earlier one.
    """

    walk: str | None
    condition: str = "1"
    params: tuple[Any, ...] = ()
    offset: int | float = 0

    @property
    def key(self) -> str:
        if self.walk is None:
            return repr(self.offset)
        return f"({self.walk} + {self.offset!r})" if self.offset else self.walk


@dataclass(frozen=True)
class Ordering:
    """How results are sorted: by id alone (no laps), or lap after lap, each by its
    key then id, all in one direction."""

    name: str
    laps: tuple[Lap, ...] = ()
    descending: bool = True
    match: str | None = None  # the FTS5 expression ``order:relevance`` ranks by


@dataclass(frozen=True)
class Compiled:
    """``where`` over ``images i``; with ``driver``, the picture must also match that
    FTS5 expression in ``image_tag_fts`` (the engine joins on it; ``condition``
    spells it as a subquery for other uses)."""

    where: str
    params: list[Any]
    ordering: Ordering
    notes: tuple[str, ...] = ()
    driver: str | None = None

    def condition(self) -> SQL:
        """The whole condition over ``images i``, the driver included."""
        if self.driver is None:
            return self.where, list(self.params)
        return (f"{self.where} AND i.id IN (SELECT rowid FROM image_tag_fts"
                " WHERE image_tag_fts MATCH ?)", [*self.params, self.driver])


@dataclass
class _Context:
    db: Database
    viewer: Viewer
    now: datetime
    notes: list[str] = field(default_factory=list)
    ranked: list[str] = field(default_factory=list)
    wildcards: int = 0


def compile_query(db: Database, viewer: Viewer, root: Node, order: str, *,
                  seed: int = 1, now: datetime | None = None) -> Compiled:
    """The condition for ``root`` as seen by ``viewer``, visibility included."""
    context = _Context(db, viewer, now or datetime.now(UTC))
    driver = None
    if order in ("newest", "oldest"):
        driver, root = _split_driver(root, context)
    sql, params = _node(root, context, negated=False, top=True)
    visible, visible_params = listable(viewer, "i")
    ordering = _ordering(order, context, seed)
    return Compiled(f"({sql}) AND {visible}", [*params, *visible_params], ordering,
                    tuple(dict.fromkeys(context.notes)), driver)


# -- tags through FTS5 ----------------------------------------------------------------


def _split_driver(root: Node, context: _Context) -> tuple[str | None, Node]:
    """The top-level tag terms as one FTS5 expression, and the rest of the query.

    Terms are tried in order; one that cannot be expressed (a word that is no
    tag, a wildcard matching nothing, text, a metatag) is left for ``_node``,
    with the notes and wildcard count it had produced undone so ``_node``
    produces them again. FTS5 has no lone NOT, so at least one positive term
    must be there.
    """
    children = root.children if isinstance(root, And) else (root,)
    notes, wildcards = len(context.notes), context.wildcards
    positive: list[str] = []
    negative: list[str] = []
    rest: list[Node] = []
    for child in children:
        excluded = isinstance(child, Not)
        target = child.child if isinstance(child, Not) else child
        expression = _attempt(target, context, excluded)
        if expression is None:
            rest.append(child)
        else:
            (negative if excluded else positive).append(expression)
    if not positive:  # nothing to drive with: compile the whole query as usual
        del context.notes[notes:]
        context.wildcards = wildcards
        return None, root
    return _fts_and(positive, negative), And(tuple(rest), 0)


def _attempt(node: Node, context: _Context, negated: bool) -> str | None:
    notes, wildcards = len(context.notes), context.wildcards
    expression = _tag_expression(node, context, negated)
    if expression is None:
        del context.notes[notes:]
        context.wildcards = wildcards
    return expression


def _fts_and(positive: list[str], negative: list[str]) -> str:
    expression = " AND ".join(positive)
    if negative:
        expression = f"({expression}) NOT ({' OR '.join(negative)})"
    return expression


def _tag_expression(node: Node, context: _Context, negated: bool) -> str | None:
    """``node`` as an FTS5 expression over tag tokens, or None if it is not only tags."""
    if isinstance(node, Tag):
        found = _resolve(context.db, node.name)
        return None if found is None else TAG_TERM.format(found[0])
    if isinstance(node, Wildcard):
        ids = [tag_id for tag_id, _ in _wildcard_tags(node, context, negated)]
        if not ids:
            return None
        return "(" + " OR ".join(TAG_TERM.format(tag_id) for tag_id in ids) + ")"
    if isinstance(node, Or):
        parts = [_tag_expression(child, context, negated) for child in node.children]
        if not parts or any(part is None for part in parts):
            return None
        return "(" + " OR ".join(part for part in parts if part is not None) + ")"
    if isinstance(node, And):
        positive: list[str] = []
        negative: list[str] = []
        for child in node.children:
            excluded = isinstance(child, Not)
            target = child.child if isinstance(child, Not) else child
            part = _tag_expression(target, context, negated != excluded)
            if part is None:
                return None
            (negative if excluded else positive).append(part)
        return "(" + _fts_and(positive, negative) + ")" if positive else None
    return None


def _node(node: Node, context: _Context, negated: bool, top: bool) -> SQL:
    if isinstance(node, And):
        return _join(node.children, " AND ", context, negated, top, EVERYTHING)
    if isinstance(node, Or):
        return _join(node.children, " OR ", context, negated, False, NOTHING)
    if isinstance(node, Not):
        sql, params = _node(node.child, context, not negated, False)
        return f"NOT coalesce(({sql}), 0)", params
    if isinstance(node, Tag):
        return _tag(node, context, top and not negated)
    if isinstance(node, Wildcard):
        return _wildcard(node, context, negated)
    if isinstance(node, Text):
        return _text(node, context, top and not negated)
    return _meta(node, context)


def _join(children: tuple[Node, ...], glue: str, context: _Context, negated: bool,
          top: bool, empty: SQL) -> SQL:
    if not children:
        return empty
    parts = [_node(child, context, negated, top) for child in children]
    return "(" + glue.join(sql for sql, _ in parts) + ")", [p for _, ps in parts for p in ps]


# -- tags and text --------------------------------------------------------------------


def _resolve(db: Database, name: str) -> tuple[int, int] | None:
    row = db.one(
        "SELECT id, count FROM tags WHERE name = ?"
        " UNION ALL SELECT t.id, t.count FROM tag_aliases a JOIN tags t ON t.id = a.tag_id"
        " WHERE a.alias = ? LIMIT 1", (name, name))
    return None if row is None else (int(row["id"]), int(row["count"]))


def _tag(node: Tag, context: _Context, ranked: bool) -> SQL:
    found = _resolve(context.db, node.name)
    if found is None:
        context.notes.append(f"No tag is named '{node.name}'; it was searched as text.")
        return _fts(_phrase(node.name, prefix=True), context, ranked)
    tag_id, count = found
    if count >= COMMON_TAG:
        return ("EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id"
                " AND it.tag_id = ?)", [tag_id])
    return "i.id IN (SELECT image_id FROM image_tags WHERE tag_id = ?)", [tag_id]


def _glob(pattern: str) -> str:
    return pattern.replace("[", "[[]").replace("?", "[?]")


def _wildcard_tags(node: Wildcard, context: _Context,
                   negated: bool) -> list[tuple[int, int]]:
    """(id, count) of the most used tags ``node`` matches, with its notes and limits."""
    context.wildcards += 1
    if context.wildcards > MAX_WILDCARDS:
        raise QueryError(f"Use at most {MAX_WILDCARDS} wildcards.", node.position)
    rows = context.db.all(
        "SELECT id, count FROM tags WHERE name GLOB ? AND count > 0 ORDER BY count DESC, id"
        " LIMIT ?", (_glob(node.pattern), MAX_EXPANSION + 1))
    if len(rows) > MAX_EXPANSION:
        if negated:
            raise QueryError(f"'{node.pattern}' matches more than {MAX_EXPANSION} tags, too"
                             " many to exclude; make it longer.", node.position)
        context.notes.append(f"'{node.pattern}' matches more than {MAX_EXPANSION} tags;"
                             f" only the {MAX_EXPANSION} most used were searched.")
    if not rows:
        context.notes.append(f"No tag matches '{node.pattern}'.")
    return [(int(row["id"]), int(row["count"])) for row in rows[:MAX_EXPANSION]]


def _wildcard(node: Wildcard, context: _Context, negated: bool) -> SQL:
    tags = _wildcard_tags(node, context, negated)
    if not tags:
        return NOTHING
    ids = [tag_id for tag_id, _ in tags]
    marks = ", ".join("?" for _ in ids)
    if sum(count for _, count in tags) >= COMMON_TAG:
        return (f"EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id"
                f" AND it.tag_id IN ({marks}))", ids)
    return f"i.id IN (SELECT image_id FROM image_tags WHERE tag_id IN ({marks}))", ids


def _phrase(text: str, prefix: bool = False) -> str | None:
    """An FTS5 phrase of the letters and digits of ``text`` (never an operator)."""
    words = re.findall(r"[^\W_]+", text)
    if not words:
        return None
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def _text(node: Text, context: _Context, ranked: bool) -> SQL:
    phrase = _phrase(node.text)
    return _fts(None if phrase is None else f"{TEXT_COLUMNS} : {phrase}", context, ranked)


def _fts(match: str | None, context: _Context, ranked: bool) -> SQL:
    if match is None:
        return NOTHING
    if ranked:
        context.ranked.append(match)
    return "i.id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)", [match]


# -- metatags -------------------------------------------------------------------------


def _between(expression: str, bounds: Range) -> SQL:
    parts: list[str] = []
    params: list[Any] = []
    if bounds.low is not None:
        parts.append(f"{expression} {'>=' if bounds.low_inclusive else '>'} ?")
        params.append(bounds.low)
    if bounds.high is not None:
        parts.append(f"{expression} {'<=' if bounds.high_inclusive else '<'} ?")
        params.append(bounds.high)
    return ("(" + " AND ".join(parts) + ")", params) if parts else EVERYTHING


RANGES = {
    "width": "i.width",
    "height": "i.height",
    "mp": "(i.width * i.height / 1000000.0)",
    "ratio": "(i.width * 1.0 / nullif(i.height, 0))",
    "nsfw": "i.nsfw_score",
    "date": "i.created_at",
}

HAS = {
    "caption": "coalesce(i.caption, '') <> ''",
    "prompt": ("EXISTS (SELECT 1 FROM image_metadata m WHERE m.image_id = i.id"
               " AND coalesce(m.prompt, '') <> '')"),
    "tags": "EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = i.id)",
    "video": "i.kind = 'video'",
}


def _meta(node: Meta, context: _Context) -> SQL:
    if node.key in RANGES:
        return _between(RANGES[node.key], node.value)
    handler = META_HANDLERS.get(node.key)
    if handler is not None:
        return handler(node.value, context)
    if node.key == "has":
        return HAS[node.value], []
    return EVERYTHING  # order: is read by _ordering


def _rating(value: tuple[str, ...], context: _Context) -> SQL:
    names = [name for name in value if name != "none"]
    parts = [f"i.rating IN ({', '.join('?' for _ in names)})"] if names else []
    if "none" in value:
        parts.append("i.rating IS NULL")
    return "(" + " OR ".join(parts) + ")", names


def _age(value: Range, context: _Context) -> SQL:
    """An age range is a ``created_at`` range counted back from now."""
    def moment(seconds: int | None) -> str | None:
        if seconds is None:
            return None
        return (context.now - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    bounds = Range(moment(value.high), moment(value.low), value.high_inclusive,
                   value.low_inclusive)
    return _between("i.created_at", bounds)


def _user(value: str, context: _Context) -> SQL:
    if value.lower() == "me":
        user_id = context.viewer.user_id
        return NOTHING if user_id is None else ("i.owner_id = ?", [user_id])
    return "i.owner_id = (SELECT id FROM users WHERE username = ?)", [value]


def _fav(value: str, context: _Context) -> SQL:
    user_id = context.viewer.user_id
    if user_id is None:
        return NOTHING
    if value.lower() == "me":
        return "i.id IN (SELECT image_id FROM favourites WHERE user_id = ?)", [user_id]
    return ("i.id IN (SELECT fv.image_id FROM favourites fv JOIN users u ON u.id = fv.user_id"
            " WHERE fv.user_id = ? AND u.username = ?)", [user_id, value])


def _collection(value: int | str, context: _Context) -> SQL:
    """By id: yours, public or unlisted ones; by title: yours or public ones."""
    base = ("i.id IN (SELECT ci.image_id FROM collection_items ci JOIN collections c"
            " ON c.id = ci.collection_id WHERE ")
    owner = context.viewer.user_id
    if isinstance(value, int):
        return (base + "c.id = ? AND (c.owner_id = ? OR c.visibility IN ('public', 'unlisted')))",
                [value, owner])
    return (base + "c.title = ? COLLATE NOCASE AND (c.owner_id = ? OR c.visibility = 'public'))",
            [value, owner])


def _source(value: str, context: _Context) -> SQL:
    if value == "remote":
        return "i.peer_id IS NOT NULL", []
    if value == "local":
        return "i.peer_id IS NULL", []
    return EVERYTHING


def _peer(value: str, context: _Context) -> SQL:
    wanted = value.strip().lower()
    ids = [row["id"] for row in context.db.all("SELECT id, name, base_url FROM peers")
           if wanted in _peer_names(row["name"], row["base_url"])]
    if not ids:
        context.notes.append(f"No peer is named '{value}'.")
        return NOTHING
    return f"i.peer_id IN ({', '.join('?' for _ in ids)})", ids


def _peer_names(name: str, base_url: str) -> set[str]:
    """What ``peer:`` accepts for a peer: its name, its host, its host:port."""
    parts = urlsplit(base_url)
    return {name.strip().lower(), (parts.hostname or "").lower(), parts.netloc.lower()}


META_HANDLERS: dict[str, Callable[[Any, _Context], SQL]] = {
    "rating": _rating, "age": _age, "user": _user, "fav": _fav, "collection": _collection,
    "source": _source, "peer": _peer,
}

# -- order ----------------------------------------------------------------------------

# Largest first, on bare columns walked through (column, id) indexes over live
# pictures (0004, 0005). No NSFW score sorts last: a second lap, by id, keyed -1.
ORDER_LAPS = {
    "width": (Lap("i.width"),),
    "height": (Lap("i.height"),),
    "size": (Lap("i.size_bytes"),),
    "nsfw": (Lap("i.nsfw_score", "i.nsfw_score IS NOT NULL"),
             Lap(None, "i.nsfw_score IS NULL", offset=-1.0)),
}


def _ordering(order: str, context: _Context, seed: int) -> Ordering:
    if order in ORDER_LAPS:
        return Ordering(order, ORDER_LAPS[order])
    if order == "oldest":
        return Ordering("oldest", descending=False)
    if order == "random":
        start = (seed * 2654435761) % SHUFFLE_SPAN
        return Ordering("random", (
            Lap(SHUFFLE, f"{SHUFFLE} >= ?", (start,)),
            Lap(SHUFFLE, f"{SHUFFLE} < ?", (start,), offset=SHUFFLE_SPAN)), descending=False)
    if order == "relevance":
        if context.ranked:
            return Ordering("relevance", (Lap("f.rank"),), descending=False,
                            match=" AND ".join(f"({m})" for m in context.ranked))
        context.notes.append("order:relevance needs quoted text; showing newest first.")
    return Ordering("newest")
