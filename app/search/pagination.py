"""Keyset pagination: a cursor names the last picture shown.

Grids ordered by id use the last id (a whole number). Search orders by other
keys too, so its cursors are opaque strings (``app.search.engine``); a page
may also carry notes about how the query was read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.db import Row
from app.errors import BadRequest


@dataclass(frozen=True)
class Page:
    items: list[Row]
    next_cursor: int | str | None
    notes: tuple[str, ...] = ()


def parse_cursor(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        cursor = int(raw)
    except ValueError:
        raise BadRequest("The cursor must be a whole number.", field="cursor") from None
    if cursor <= 0:
        raise BadRequest("The cursor must be positive.", field="cursor")
    return cursor


def parse_search_cursor(raw: str | None) -> str | None:
    """A search cursor as given (validated by the engine, which knows the order)."""
    if raw in (None, ""):
        return None
    if len(raw) > 300 or not raw.replace("-", "").replace("_", "").isalnum():
        raise BadRequest("The cursor is not valid; start again from the first page.",
                         field="cursor")
    return raw


def parse_limit(raw: str | None, default: int, maximum: int = 200) -> int:
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("The limit must be a whole number.", field="limit") from None
    if not 1 <= limit <= maximum:
        raise BadRequest(f"The limit must be between 1 and {maximum}.", field="limit")
    return limit


def fetch_page(fetch: Callable[[int | None, int], list[Row]], cursor: int | None,
               limit: int) -> Page:
    """Ask ``fetch(before, limit + 1)``; the extra row tells whether more exist."""
    rows = fetch(cursor, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1]["id"] if more and rows else None)
