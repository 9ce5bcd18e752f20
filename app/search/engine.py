"""The one entry point of search: text in, one page of visible pictures out.

The search box, ``GET /api/v1/search``, ``salon search`` and every grid go
through ``run_search``, so they share one language, one visibility rule and
one pagination. Pages are keyset-paginated on (sort key, id): a cursor is
the last picture's id for ``newest``/``oldest`` (as before) and an opaque
token carrying the sort key, the id and, for ``order:random``, the shuffle's
seed for the other orders. Each query runs under the configured time limit;
running out is a 400 that asks for a narrower search.
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
from app.search.compiler import Compiled, Ordering, compile_query
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
    return f"SELECT count(*) FROM images i WHERE {compiled.where}", compiled.params


def explain(db: Database, viewer: Viewer, query: str) -> list[str]:
    """SQLite's query plan for the first page of ``query``."""
    statement = statement_for(db, viewer, query)
    rows = db.all("EXPLAIN QUERY PLAN " + statement.sql, statement.params)
    return [str(row["detail"]) for row in rows]


def _select(compiled: Compiled, owner_id: int | None, after: Cursor | None,
            limit: int) -> Statement:
    ordering = compiled.ordering
    columns, params = CARD_COLUMNS, []
    if ordering.key is not None:
        columns += f", {ordering.key} AS sort_key"
        params += list(ordering.key_params)
    source = "images i"
    clauses, args = [compiled.where], list(compiled.params)
    if ordering.match is not None:
        source += " JOIN images_fts f ON f.rowid = i.id"
        clauses.append("images_fts MATCH ?")
        args.append(ordering.match)
    if owner_id is not None:
        clauses.append("i.owner_id = ?")
        args.append(owner_id)
    if after is not None:
        keyset, keyset_params = _keyset(ordering, after)
        clauses.append(keyset)
        args += keyset_params
    order_sql, order_params = _order_by(ordering)
    sql = (f"SELECT {columns} FROM {source} WHERE {' AND '.join(clauses)}"
           f" ORDER BY {order_sql} LIMIT ?")
    compiled_params = [*params, *args, *order_params, limit]
    return Statement(sql, compiled_params, compiled)


def _keyset(ordering: Ordering, after: Cursor) -> tuple[str, list[Any]]:
    op = "<" if ordering.descending else ">"
    if ordering.key is None:
        return f"i.id {op} ?", [after.id]
    return (f"({ordering.key}, i.id) {op} (?, ?)",
            [*ordering.key_params, after.key, after.id])


def _order_by(ordering: Ordering) -> tuple[str, list[Any]]:
    direction = "DESC" if ordering.descending else "ASC"
    if ordering.key is None:
        return f"i.id {direction}", []
    return f"{ordering.key} {direction}, i.id {direction}", list(ordering.key_params)


# -- cursors --------------------------------------------------------------------------


def encode_cursor(ordering: Ordering, cursor: Cursor) -> int | str:
    """The id (a whole number, as grids always had) or an opaque token."""
    if ordering.key is None:
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
