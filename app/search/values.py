"""Reading metatag values: ranges, numbers, ratings, dates and ages.

Each reader takes the raw value and its column and returns what the compiler
needs, or raises a ``QueryError`` pointing at the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.search.syntax import (
    AGE_UNITS,
    HAS_VALUES,
    ORDERS,
    RATINGS,
    SOURCES,
    QueryError,
    Range,
)

# -- metatag values -------------------------------------------------------------------

Convert = Callable[[str], Any]


def _bad(message: str, position: int) -> QueryError:
    return QueryError(message, position)


def _convert(convert: Convert, raw: str, position: int, what: str) -> Any:
    try:
        return convert(raw)
    except (ValueError, OverflowError):
        raise _bad(f"'{raw}' is not {what}.", position) from None


def _range(raw: str, position: int, convert: Convert, what: str,
           tolerance: float = 0) -> Range:
    """``>x``, ``>=x``, ``<x``, ``<=x``, ``x..y``, ``x..``, ``..y`` or ``x``."""
    for op in (">=", "<=", ">", "<"):
        if raw.startswith(op):
            value = _convert(convert, raw[len(op):], position + len(op), what)
            inclusive = op.endswith("=")
            if op[0] == ">":
                return Range(low=value, low_inclusive=inclusive)
            return Range(high=value, high_inclusive=inclusive)
    if ".." in raw:
        return _span(raw, position, convert, what)
    value = _convert(convert, raw, position, what)
    if tolerance:
        return Range(value - tolerance, value + tolerance)
    return Range(value, value)


def _span(raw: str, position: int, convert: Convert, what: str) -> Range:
    left, right = raw.split("..", 1)
    if not left and not right:
        raise _bad("A range needs at least one end, as in 1..5, 1.. or ..5.", position)
    low = _convert(convert, left, position, what) if left else None
    high = _convert(convert, right, position + len(left) + 2, what) if right else None
    if low is not None and high is not None and low > high:
        raise _bad("The range ends before it starts.", position)
    return Range(low, high)


def _whole(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise ValueError(raw)
    return int(raw)


def _number(raw: str) -> float:
    value = float(raw)
    if not 0 <= value < 1e12 or not re.fullmatch(r"\d+(\.\d*)?|\.\d+", raw):
        raise ValueError(raw)
    return value


def _score(raw: str) -> float:
    value = _number(raw)
    if value > 1:
        raise ValueError(raw)
    return value


def _ratio(raw: str) -> float:
    if ":" not in raw:
        return _number(raw)
    width, height = (_number(part) for part in raw.split(":", 1))
    if height == 0:
        raise ValueError(raw)
    return width / height


def _pixels(raw: str, position: int) -> Range:
    return _range(raw, position, _whole, "a whole number of pixels")


def _megapixels(raw: str, position: int) -> Range:
    return _range(raw, position, _number, "a number of megapixels", tolerance=0.05)


def _nsfw(raw: str, position: int) -> Range:
    return _range(raw, position, _score, "a score from 0 to 1", tolerance=0.005)


def _ratio_value(raw: str, position: int) -> Range:
    return _range(raw, position, _ratio, "a ratio such as 16:9 or 1.5", tolerance=0.01)


def _rating(raw: str, position: int) -> tuple[str, ...]:
    found: list[str] = []
    offset = 0
    for part in raw.lower().split(","):
        name = RATINGS.get(part, part)
        if name not in (*RATINGS.values(), "none"):
            raise _bad(f"'{part}' is not a rating: use g, s, q, e (general, sensitive,"
                       " questionable, explicit) or none.", position + offset)
        found.append(name)
        offset += len(part) + 1
    return tuple(dict.fromkeys(found))


def _choice(options: tuple[str, ...]) -> Callable[[str, int], str]:
    def choose(raw: str, position: int) -> str:
        value = raw.lower()
        if value not in options:
            raise _bad(f"'{raw}' is not one of: {', '.join(options)}.", position)
        return value

    return choose


def _name(raw: str, position: int) -> str:
    return raw


def _collection(raw: str, position: int) -> int | str:
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else raw


# -- dates and ages -------------------------------------------------------------------


def _period(raw: str) -> tuple[datetime, datetime]:
    """The half-open interval a date names: a year, a month, a day, today, yesterday."""
    today = datetime.now(UTC).date()
    named = {"today": today, "yesterday": today - timedelta(days=1)}
    if raw.lower() in named:
        start = _midnight(named[raw.lower()])
        return start, start + timedelta(days=1)
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", raw)
    if match is None:
        raise ValueError(raw)
    year, month, day = (int(part) if part else 0 for part in match.groups())
    if not 1000 <= year <= 9998:
        raise ValueError(raw)
    start = _midnight(date(year, month or 1, day or 1))
    if day:
        return start, start + timedelta(days=1)
    if month:
        return start, _midnight(date(year + month // 12, month % 12 + 1, 1))
    return start, _midnight(date(year + 1, 1, 1))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(raw: str, position: int) -> Range:
    """A ``created_at`` range of ISO strings: low inclusive, high exclusive."""
    what = "a date (YYYY, YYYY-MM, YYYY-MM-DD, today or yesterday)"
    bounds = _range(raw, position, _period, what)
    low, high = bounds.low, bounds.high
    if low is not None:
        low = low[1] if not bounds.low_inclusive else low[0]
    if high is not None:
        high = high[0] if not bounds.high_inclusive else high[1]
    return Range(None if low is None else _iso(low), None if high is None else _iso(high),
                 True, False)


def _duration(raw: str) -> int:
    match = re.fullmatch(r"(\d{1,6})(h|d|w|mo|y)", raw.lower())
    if match is None:
        raise ValueError(raw)
    return int(match.group(1)) * AGE_UNITS[match.group(2)]


def _age(raw: str, position: int) -> Range:
    """An age in seconds; a bare age means "at most" (``age:7d`` = the last 7 days)."""
    bounds = _range(raw, position, _duration, "an age such as 12h, 7d, 2w, 3mo or 1y")
    if bounds.low is not None and bounds.low == bounds.high:
        return Range(high=bounds.high)
    return bounds


METATAGS: dict[str, Callable[[str, int], Any]] = {
    "rating": _rating,
    "nsfw": _nsfw,
    "width": _pixels,
    "height": _pixels,
    "mp": _megapixels,
    "ratio": _ratio_value,
    "date": _date,
    "age": _age,
    "user": _name,
    "fav": _name,
    "collection": _collection,
    "source": _choice(SOURCES),
    "peer": _name,
    "has": _choice(HAS_VALUES),
    "order": _choice(ORDERS),
}

