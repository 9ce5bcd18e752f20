"""Compile a parsed query into one SQL condition over ``images i``.

Why it looks like this:

* Only placeholders carry user text. FTS5 expressions are built from the
  letters and digits of the words (each phrase quoted), so nothing a person
  types can form an FTS5 operator or a syntax error.
* Visibility comes from ``listable`` alone and is AND-ed around the whole
  condition, so no construct (an OR, a NOT, a collection) can widen it.
* Tags are matched by id through ``image_tags`` (indexed both ways): a rare
  tag as ``i.id IN (...)`` (few rows, drives the query), a common one as a
  correlated ``EXISTS`` (a newest-first scan stops after a page). Aliases
  resolve to their tag. A word that names no tag and no alias is searched as
  text (prefix) over every indexed field, with a note saying so.
* ``NOT`` is ``NOT coalesce(x, 0)``: a missing value (no rating, no NSFW
  score) counts as "does not match", so ``-rating:e`` keeps unrated pictures.
* Federation has not landed: ``source:local`` is every picture,
  ``source:remote`` and ``peer:`` match nothing.
* Favourites are private: ``fav:me`` (or your own name) is yours; another
  user's name matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db import Database
from app.queries.visibility import Viewer, listable
from app.search.syntax import And, Meta, Node, Not, Or, QueryError, Range, Tag, Text, Wildcard

SQL = tuple[str, list[Any]]

MAX_EXPANSION = 100
MAX_WILDCARDS = 8
COMMON_TAG = 20_000
RANDOM_PRIME = 2_147_483_647
TEXT_COLUMNS = "{title description file_name prompt caption}"
NOTHING: SQL = ("0", [])
EVERYTHING: SQL = ("1", [])


@dataclass(frozen=True)
class Ordering:
    """How results are sorted: ``key`` (SQL) then id, both in one direction."""

    name: str
    key: str | None = None
    key_params: tuple[Any, ...] = ()
    descending: bool = True
    match: str | None = None  # the FTS5 expression ``order:relevance`` ranks by


@dataclass(frozen=True)
class Compiled:
    where: str
    params: list[Any]
    ordering: Ordering
    notes: tuple[str, ...] = ()


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
    sql, params = _node(root, context, negated=False, top=True)
    visible, visible_params = listable(viewer, "i")
    ordering = _ordering(order, context, seed)
    return Compiled(f"({sql}) AND {visible}", [*params, *visible_params], ordering,
                    tuple(dict.fromkeys(context.notes)))


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


def _wildcard(node: Wildcard, context: _Context, negated: bool) -> SQL:
    context.wildcards += 1
    if context.wildcards > MAX_WILDCARDS:
        raise QueryError(f"Use at most {MAX_WILDCARDS} wildcards.", node.position)
    rows = context.db.all(
        "SELECT id, count FROM tags WHERE name GLOB ? AND count > 0 ORDER BY count DESC, id"
        " LIMIT ?", (_glob(node.pattern), MAX_EXPANSION + 1))
    ids = [int(row["id"]) for row in rows[:MAX_EXPANSION]]
    if len(rows) > MAX_EXPANSION:
        if negated:
            raise QueryError(f"'{node.pattern}' matches more than {MAX_EXPANSION} tags, too"
                             " many to exclude; make it longer.", node.position)
        context.notes.append(f"'{node.pattern}' matches more than {MAX_EXPANSION} tags;"
                             f" only the {MAX_EXPANSION} most used were searched.")
    if not ids:
        context.notes.append(f"No tag matches '{node.pattern}'.")
        return NOTHING
    marks = ", ".join("?" for _ in ids)
    if sum(int(row["count"]) for row in rows[:MAX_EXPANSION]) >= COMMON_TAG:
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
        context.notes.append("Federation is not available yet: no picture is remote.")
        return NOTHING
    return EVERYTHING


def _peer(value: str, context: _Context) -> SQL:
    context.notes.append("Federation is not available yet: no picture comes from a peer.")
    return NOTHING


META_HANDLERS: dict[str, Callable[[Any, _Context], SQL]] = {
    "rating": _rating, "age": _age, "user": _user, "fav": _fav, "collection": _collection,
    "source": _source, "peer": _peer,
}

# -- order ----------------------------------------------------------------------------

ORDER_KEYS = {
    "width": "i.width",
    "height": "i.height",
    "size": "i.size_bytes",
    "nsfw": "coalesce(i.nsfw_score, -1.0)",
}


def _ordering(order: str, context: _Context, seed: int) -> Ordering:
    if order in ORDER_KEYS:
        return Ordering(order, ORDER_KEYS[order])
    if order == "oldest":
        return Ordering("oldest", descending=False)
    if order == "random":
        return Ordering("random", f"((i.id * ?) % {RANDOM_PRIME})", (seed,), descending=False)
    if order == "relevance":
        if context.ranked:
            return Ordering("relevance", "f.rank", descending=False,
                            match=" AND ".join(f"({m})" for m in context.ranked))
        context.notes.append("order:relevance needs quoted text; showing newest first.")
    return Ordering("newest")
