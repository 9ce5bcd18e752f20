"""The one entry point of search: text in, one page of visible pictures out.

The search box, ``GET /api/v1/search``, ``salon search`` and every grid go
through ``run_search``, so they share one language, one visibility rule and
one pagination. Pages are keyset-paginated on (sort key, id): a cursor is
the last picture's id for ``newest``/``oldest`` (as before) and an opaque
token carrying the sort key, the id and, for ``order:random``, the shuffle's
seed for the other orders. Every page is an index walk that stops after a
page: by id (through the tag index when the query has tag terms), or lap by
lap (``Lap``) on an indexed sort key, each lap a branch of one UNION ALL.
Each query runs under the configured time limit; running out is a 400 that
asks for a narrower search.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
from dataclasses import dataclass
from typing import Any

from app.db import Database, QueryInterrupted, Row
from app.errors import BadRequest
from app.queries.images import CARD_COLUMNS
from app.queries.visibility import Viewer
from app.search.compiler import Compiled, Lap, Ordering, compile_query
from app.search.pagination import Page
from app.search.parser import order_of, parse

MAX_CURSOR = 300


@dataclass(frozen=True)
class Cursor:
    key: Any
    id: int
    seed: int | None = None


@dataclass(frozen=True)
class Statement:
    """A search as SQL, for running it, counting it or reading its plan."""

    sql: str
    params: list[Any]
    compiled: Compiled


def run_search(db: Database, viewer: Viewer, query: str, *, owner_id: int | None = None,
               cursor: str | int | None = None, limit: int = 60,
               timeout_ms: int = 2000) -> Page:
    """One page of ``query``'s results as ``viewer`` may see them."""
    root = parse(query)
    order = order_of(root)
    after = decode_cursor(cursor, order)
    seed = after.seed if after and after.seed else random.randrange(1, 2**31 - 1)
    compiled = compile_query(db, viewer, root, order, seed=seed)
    statement = _select(compiled, owner_id, after, limit + 1)
    try:
        with db.time_limit(timeout_ms):
            rows = db.all(statement.sql, statement.params)
    except QueryInterrupted:
        raise BadRequest("The search took too long; add terms to narrow it.") from None
    return _page(rows, limit, compiled.ordering, seed, compiled.notes)


def _page(rows: list[Row], limit: int, ordering: Ordering, seed: int,
          notes: tuple[str, ...]) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    keys = [row.pop("sort_key", None) for row in rows]
    next_cursor = None
    if more and rows:
        next_cursor = encode_cursor(ordering, Cursor(keys[-1], rows[-1]["id"], seed))
    return Page(rows, next_cursor, notes)


def statement_for(db: Database, viewer: Viewer, query: str, *, owner_id: int | None = None,
                  limit: int = 60) -> Statement:
    """The first page's SQL (for benchmarks and ``EXPLAIN QUERY PLAN``)."""
    root = parse(query)
    compiled = compile_query(db, viewer, root, order_of(root))
    return _select(compiled, owner_id, None, limit)


def count_sql(db: Database, viewer: Viewer, query: str) -> tuple[str, list[Any]]:
    """SQL and params counting every match (slow for broad queries; not used by pages)."""
    root = parse(query)
    compiled = compile_query(db, viewer, root, "newest")
    where, params = compiled.condition()
    return f"SELECT count(*) FROM images i WHERE {where}", params


def explain(db: Database, viewer: Viewer, query: str) -> list[str]:
    """SQLite's query plan for the first page of ``query``."""
    statement = statement_for(db, viewer, query)
    rows = db.all("EXPLAIN QUERY PLAN " + statement.sql, statement.params)
    return [str(row["detail"]) for row in rows]


def _select(compiled: Compiled, owner_id: int | None, after: Cursor | None,
            limit: int) -> Statement:
    ordering = compiled.ordering
    source = "images i"
    clauses, args = [compiled.where], list(compiled.params)
    if compiled.driver is not None:
        source = "image_tag_fts g JOIN images i ON i.id = g.rowid"
        clauses.append("image_tag_fts MATCH ?")
        args.append(compiled.driver)
    if ordering.match is not None:
        source += " JOIN images_fts f ON f.rowid = i.id"
        clauses.append("images_fts MATCH ?")
        args.append(ordering.match)
    if owner_id is not None:
        clauses.append("i.owner_id = ?")
        args.append(owner_id)
    direction = "DESC" if ordering.descending else "ASC"
    if not ordering.laps:
        ident = "i.id" if compiled.driver is None else "g.rowid"
        if after is not None:
            clauses.append(f"{ident} {'<' if ordering.descending else '>'} ?")
            args.append(after.id)
        sql = (f"SELECT {CARD_COLUMNS} FROM {source} WHERE {' AND '.join(clauses)}"
               f" ORDER BY {ident} {direction} LIMIT ?")
        return Statement(sql, [*args, limit], compiled)
    branches: list[str] = []
    params: list[Any] = []
    for lap in ordering.laps:
        keyset, keyset_params = _keyset(lap, ordering.descending, after)
        walk = "" if lap.walk is None else f"{lap.walk} {direction}, "
        branches.append(
            f"SELECT {CARD_COLUMNS}, {lap.key} AS sort_key FROM {source}"
            f" WHERE {' AND '.join([*clauses, lap.condition, keyset])}"
            f" ORDER BY {walk}i.id {direction} LIMIT ?")
        params += [*args, *lap.params, *keyset_params, limit]
    if len(branches) == 1:
        return Statement(branches[0], params, compiled)
    sql = (" UNION ALL ".join(f"SELECT * FROM ({branch})" for branch in branches)
           + f" ORDER BY sort_key {direction}, id {direction} LIMIT ?")
    return Statement(sql, [*params, limit], compiled)


def _keyset(lap: Lap, descending: bool, after: Cursor | None) -> tuple[str, list[Any]]:
    """The rows of ``lap`` that come after the cursor (all of them on a first page)."""
    if after is None:
        return "1", []
    op = "<" if descending else ">"
    if lap.walk is not None:
        return f"({lap.walk}, i.id) {op} (?, ?)", [after.key - lap.offset, after.id]
    if after.key == lap.offset:
        return f"i.id {op} ?", [after.id]
    return ("1" if (after.key > lap.offset) == descending else "0"), []


# -- cursors --------------------------------------------------------------------------


def encode_cursor(ordering: Ordering, cursor: Cursor) -> int | str:
    """The id (a whole number, as grids always had) or an opaque token."""
    if not ordering.laps:
        return cursor.id
    payload = {"o": ordering.name, "k": cursor.key, "i": cursor.id}
    if ordering.name == "random":
        payload["s"] = cursor.seed
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str | int | None, order: str) -> Cursor | None:
    """The position a cursor names; a 400 if it is malformed or from another order."""
    if raw is None or raw == "":
        return None
    text = str(raw)
    if text.isascii() and text.isdigit() and order in ("newest", "oldest"):
        if len(text) > 18:
            raise BadRequest("The cursor is not valid.", field="cursor")
        return Cursor(None, int(text))
    payload = _payload(text)
    if payload.get("o") != order:
        raise BadRequest("This cursor belongs to a search with another order.", field="cursor")
    return Cursor(payload["k"], payload["i"], payload.get("s"))


def _payload(text: str) -> dict[str, Any]:
    invalid = BadRequest("The cursor is not valid; start again from the first page.",
                         field="cursor")
    if len(text) > MAX_CURSOR:
        raise invalid
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        raise invalid from None
    if not _valid_payload(payload):
        raise invalid
    return payload


def _small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**62


def _valid_payload(payload: Any) -> bool:
    if not isinstance(payload, dict) or not _small(payload.get("i")):
        return False
    key, seed = payload.get("k"), payload.get("s")
    if not _small(key) and not (isinstance(key, float) and math.isfinite(key)):
        return False
    return seed is None or (isinstance(seed, int) and 0 < seed < 2**31)
