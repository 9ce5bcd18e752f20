"""What is in the library, as numbers and bar charts.

The statistics page answers "what have I been making?": uploads over time,
the most used tags, models and samplers, ratings and kinds. Everything is
counted over the pictures the viewer may list (the same rule as every grid,
so a statistic never leaks a private picture), optionally only their own.

Charts are laid out here, in plain numbers, and drawn by the template as
inline SVG: no JavaScript library, no external request, and the layout is
testable without a browser.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.db import Database, Row
from app.queries import stats as queries
from app.queries.visibility import Viewer

TOP_TAGS = 20
TOP_VALUES = 10
RATINGS = ("general", "sensitive", "questionable", "explicit", "unrated")
KINDS = ("image", "video")
# A library younger than this is shown per week: months would be one or two bars.
WEEKLY_UNTIL_DAYS = 120

# Geometry of the SVG charts, in user units.
CHART_WIDTH = 640
LABEL_WIDTH = 190
ROW_HEIGHT = 24
BAR_THICKNESS = 16
VALUE_ROOM = 70
PLOT_HEIGHT = 180
TOP_MARGIN = 18
BOTTOM_MARGIN = 34
MAX_LABELS = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    show_label: bool = True
    show_value: bool = True


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    kind: str  # "bars" (horizontal, one per row) or "columns" (over time)
    bars: list[Bar]
    width: int
    height: int

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


@dataclass(frozen=True)
class Stats:
    pictures: int
    bytes: int
    period: str
    charts: list[Chart]


def library_stats(db: Database, viewer: Viewer, owner_id: int | None = None, *,
                  scan: bool = False) -> Stats:
    """Every chart of the page, for this viewer (and only ``owner_id``'s pictures if given).

    The counts come from the summaries; ``scan`` counts the pictures themselves instead
    (the slow reference the tests and the benchmark compare against).
    """
    daily_facts = queries.scan_daily_facts if scan else queries.daily_facts
    top_tags = queries.scan_top_tags if scan else queries.top_tags
    top_metadata = queries.scan_top_metadata if scan else queries.top_metadata
    facts = daily_facts(db, viewer, owner_id)
    days = sorted({row["day"] for row in facts})
    unit = period_unit(days[0], days[-1]) if days else "month"
    charts = [
        column_chart("uploads", f"Uploads per {unit}",
                     fill_periods(_per_period(facts, unit), unit)),
        bar_chart("tags", f"Top {TOP_TAGS} tags",
                  top_tags(db, viewer, TOP_TAGS, owner_id)),
        bar_chart("models", "Top models",
                  top_metadata(db, viewer, "model", TOP_VALUES, owner_id)),
        bar_chart("samplers", "Top samplers",
                  top_metadata(db, viewer, "sampler", TOP_VALUES, owner_id)),
        bar_chart("ratings", "Ratings", in_order(_summed(facts, "rating"), RATINGS)),
        bar_chart("kinds", "Kinds", in_order(_summed(facts, "kind"), KINDS)),
    ]
    return Stats(pictures=sum(row["pictures"] for row in facts),
                 bytes=sum(row["bytes"] or 0 for row in facts), period=unit, charts=charts)


def _summed(facts: Sequence[Row], key: str) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for row in facts:
        totals[row[key]] += row["pictures"]
    return dict(totals)


def _per_period(facts: Sequence[Row], unit: str) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for row in facts:
        day = date.fromisoformat(row["day"])
        week_start = day - timedelta(days=day.weekday())
        totals[week_start.isoformat() if unit == "week" else row["day"][:7]] += row["pictures"]
    return dict(totals)


def period_unit(first: str, last: str) -> str:
    """``week`` while the library spans less than ~four months, else ``month``."""
    span = date.fromisoformat(last[:10]) - date.fromisoformat(first[:10])
    return "week" if span.days < WEEKLY_UNTIL_DAYS else "month"


def fill_periods(counts: dict[str, int], unit: str) -> list[tuple[str, int]]:
    """Counts per period with the empty periods in between put back as zeros."""
    if not counts:
        return []
    labels = sorted(counts)
    step = _next_week if unit == "week" else _next_month
    filled, label = [], labels[0]
    while label <= labels[-1]:
        filled.append((label, counts.get(label, 0)))
        label = step(label)
    return filled


def _next_week(label: str) -> str:
    return (date.fromisoformat(label) + timedelta(days=7)).isoformat()


def _next_month(label: str) -> str:
    year, month = (int(part) for part in label.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def in_order(counts: dict[str, int], order: Sequence[str]) -> list[tuple[str, int]]:
    """(label, value) in a fixed order, absent labels as zero, unexpected ones after."""
    extra = sorted(label for label in counts if label not in order)
    return [(label, counts.get(label, 0)) for label in [*order, *extra]]


def _pairs(rows: Sequence[Row] | Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(row["label"], int(row["value"])) if isinstance(row, dict) else row
            for row in rows]


def _describe(title: str, pairs: list[tuple[str, int]]) -> str:
    if not pairs or not any(value for _, value in pairs):
        return f"{title}: nothing to count yet."
    label, value = max(pairs, key=lambda pair: pair[1])
    total = sum(value for _, value in pairs)
    return (f"{title}: {len(pairs)} bars totalling {total:,}; the largest is "
            f"{label} with {value:,}.")


def bar_chart(key: str, title: str,
              rows: Sequence[Row] | Sequence[tuple[str, int]]) -> Chart:
    """Horizontal bars, one row per label, the value written after each bar."""
    pairs = _pairs(rows)
    largest = max((value for _, value in pairs), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_ROOM
    bars = [Bar(label=label, value=value, x=LABEL_WIDTH,
                y=index * ROW_HEIGHT + (ROW_HEIGHT - BAR_THICKNESS) / 2,
                width=round(room * value / largest, 1), height=BAR_THICKNESS)
            for index, (label, value) in enumerate(pairs)]
    return Chart(key, title, _describe(title, pairs), "bars", bars, CHART_WIDTH,
                 max(1, len(bars)) * ROW_HEIGHT)


def column_chart(key: str, title: str, pairs: list[tuple[str, int]]) -> Chart:
    """Columns over time; every n-th label is written so they never overlap."""
    largest = max((value for _, value in pairs), default=0) or 1
    slot = min(48.0, (CHART_WIDTH - 20) / max(1, len(pairs)))
    every = max(1, math.ceil(len(pairs) / MAX_LABELS))
    bars = []
    for index, (label, value) in enumerate(pairs):
        height = round(PLOT_HEIGHT * value / largest, 1)
        bars.append(Bar(label=label, value=value, x=round(10 + index * slot + slot * 0.1, 1),
                        y=TOP_MARGIN + PLOT_HEIGHT - height, width=round(slot * 0.8, 1),
                        height=height, show_label=index % every == 0,
                        show_value=slot >= 28 and value > 0))
    return Chart(key, title, _describe(title, pairs), "columns", bars, CHART_WIDTH,
                 TOP_MARGIN + PLOT_HEIGHT + BOTTOM_MARGIN)
