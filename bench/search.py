"""Search at library scale: Salon's query engine beside a bare FTS5 MATCH, in one run.

    .venv/bin/python bench/search.py --size 100000 [--reps 60] [--json-only]

A synthetic library is built straight into a Salon database (the real
migrations, then bulk inserts): owners, pictures with realistic sizes,
dates, ratings and NSFW scores, AI-style prompts, captions with the shapes
of real captions, and tags drawn Zipf-distributed from ~20,000 names (a few
tags are on most pictures, most tags are rare), with ``tags.count`` and the
full-text rows filled in. The database is cached under ``bench/results/``
(git-ignored), keyed by size and generator version, and reused.

Then a fixed mix of query types runs through ``app.search.engine.run_search``
(what the search box and the API call) and, beside each query, the bare
FTS5 ``MATCH`` of the same terms: the floor Salon's query cannot beat. Each
type is warmed up, then repeated with different terms of the same type;
p50/p99 are reported per type, plus the newest-first 60-picture grid page
(``list_images``). Targets at 1M pictures: tag queries p99 <= 30 ms, free
text p99 <= 200 ms, grid page median <= 40 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a file, this folder would come first on sys.path and bench/queue.py would hide
# the standard library's queue module: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from app.db import Database
from app.errors import AppError
from app.queries.visibility import Viewer
from bench.library import ADJECTIVES, COLOURS, NOUNS, PLACES, cached_library

RESULTS = Path(__file__).resolve().parent / "results"
GENERATOR_VERSION = 3
CHUNK = 50_000
TAG_VOCABULARY = 20_000
ZIPF_EXPONENT = 1.0
TAGS_PER_PICTURE = (6, 28)
START = datetime(2022, 6, 1, tzinfo=UTC).timestamp()
END = datetime(2025, 6, 1, tzinfo=UTC).timestamp()
FTS_COLUMNS = "{title description file_name prompt caption}"
BARE_SQL = "SELECT rowid FROM images_fts WHERE images_fts MATCH ? ORDER BY rowid DESC LIMIT 60"

# -- the query mix -----------------------------------------------------------------------


def _term(name: str) -> str:
    return name.replace(" ", "_")


def _phrase(name: str) -> str:
    return f'tags:"{name}"'


@dataclass(frozen=True)
class Case:
    salon: str
    bare: str


def _tag_pools(db: Database, size: int) -> dict[str, list[str]]:
    rows = db.all("SELECT name, count FROM tags WHERE count > 0 ORDER BY count DESC, id")
    names = [row["name"] for row in rows]
    rare_high = max(20, size // 2000)
    rare = [row["name"] for row in rows if 5 <= row["count"] <= rare_high]
    return {"common": names[:60], "mid": names[60:600], "rare": rare or names[-200:]}


def _orders() -> tuple[str, ...]:
    try:
        from app.search.parser import ORDERS
    except ImportError:
        return ("newest", "oldest", "random", "width", "height", "size", "nsfw", "relevance")
    return tuple(ORDERS)


def _free_text(rng: random.Random) -> Case:
    words = rng.choice((f"{rng.choice(COLOURS)} {rng.choice(NOUNS)}",
                        f"{rng.choice(NOUNS)}", rng.choice(PLACES).split(" ", 1)[1],
                        f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"))
    return Case(f'"{words}"', f'{FTS_COLUMNS} : "{words}"')


METATAG_SHAPES = ("width:>=1024", "height:<1000", "nsfw:<0.3", "rating:g,s", "mp:>1",
                  "date:2024-01-01..2024-06-30", "width:800..1300 rating:q,e")


def _case_makers(pools: dict[str, list[str]],
                 rng: random.Random) -> dict[str, Callable[[], Case]]:
    def pick(pool: str) -> str:
        return rng.choice(pools[pool])

    def tags(*names: str, joiner: str = " AND ") -> Case:
        return Case(" ".join(_term(n) for n in names), joiner.join(_phrase(n) for n in names))

    def negation() -> Case:
        common, mid = pick("common"), pick("mid")
        return Case(f"{_term(common)} -{_term(mid)}", f"{_phrase(common)} NOT {_phrase(mid)}")

    def either() -> Case:
        mid, rare = pick("mid"), pick("rare")
        return Case(f"~{_term(mid)} ~{_term(rare)}", f"{_phrase(mid)} OR {_phrase(rare)}")

    def wildcard() -> Case:
        stem = pick("mid").split(" ")[0][:4]
        return Case(f"{stem}*", f"tags:{stem}*")

    def metatags() -> Case:
        mid = pick("mid")
        return Case(f"{_term(mid)} {rng.choice(METATAG_SHAPES)}", _phrase(mid))

    return {
        "rare tag": lambda: tags(pick("rare")),
        "common tag": lambda: tags(pick("common")),
        "two tags": lambda: tags(pick("common"), pick("mid")),
        "three tags": lambda: tags(pick("common"), pick("common"), pick("mid")),
        "negation": negation, "or": either, "wildcard": wildcard,
        "free text": lambda: _free_text(rng), "metatag ranges": metatags,
    }


def query_mix(db: Database, size: int, reps: int, seed: int = 11) -> dict[str, list[Case]]:
    """For each query type, ``reps`` queries with different terms of that type."""
    rng = random.Random(seed)
    makers = _case_makers(_tag_pools(db, size), rng)
    mix = {kind: [make() for _ in range(reps)] for kind, make in makers.items()}
    for order in _orders():
        mix[f"order:{order}"] = [Case(f"{c.salon} order:{order}", c.bare)
                                 for c in (makers["common tag"]() for _ in range(reps))]
    return mix


# -- timing ------------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2)}


def _clock(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _engine() -> Callable[..., Any] | None:
    try:
        from app.search.engine import run_search
    except ImportError:
        return None
    return run_search


def _salon_samples(engine: Callable[..., Any], db: Database, viewer: Viewer,
                   cases: list[Case]) -> tuple[list[float], list[int], list[str]]:
    """Seconds and hits per query; a refused query (time limit, syntax) is counted apart."""
    seconds, hits, refused = [], [], []
    for case in cases:
        try:
            spent, page = _clock(lambda c=case: engine(db, viewer, c.salon, limit=60))
        except AppError as error:
            refused.append(f"{case.salon!r}: {error.message}")
            continue
        seconds.append(spent)
        hits.append(len(page.items))
    return seconds, hits, refused


def time_type(db: Database, viewer: Viewer, cases: list[Case],
              engine: Callable[..., Any] | None) -> dict[str, Any]:
    """Warm up on the first cases, then time each case through Salon and bare FTS5."""
    if engine is not None:
        _salon_samples(engine, db, viewer, cases[:5])
    for case in cases[:5]:
        db.all(BARE_SQL, (case.bare,))
    result: dict[str, Any] = {"example": cases[0].salon, "bare_example": cases[0].bare}
    result["bare"] = _percentiles([_clock(lambda c=case: db.all(BARE_SQL, (c.bare,)))[0]
                                   for case in cases])
    if engine is None:
        result["salon"] = "app.search.engine.run_search is not there yet"
        return result
    seconds, hits, refused = _salon_samples(engine, db, viewer, cases)
    result["salon"] = _percentiles(seconds) if seconds else "every query refused"
    if hits:
        result["salon"]["mean_hits"] = round(statistics.mean(hits), 1)
    if refused:
        result["refused"] = {"count": len(refused), "first": refused[0]}
    return result


def time_grid(db: Database, viewer: Viewer, size: int, reps: int) -> dict[str, float]:
    """The plain newest-first 60-picture grid page, first page and deeper cursors."""
    from app.queries.images import list_images

    rng = random.Random(5)
    cursors = [None, *(rng.randint(61, size) for _ in range(reps - 1))]
    for cursor in cursors[:5]:
        list_images(db, viewer, before=cursor, limit=60)
    samples = [_clock(lambda c=cursor: list_images(db, viewer, before=c, limit=60))[0]
               for cursor in cursors]
    return _percentiles(samples)


def run(size: int, reps: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    path = cached_library(size, log)
    db = Database(path)
    viewer = Viewer(user_id=1)
    mix = query_mix(db, size, reps)
    engine = _engine()
    report: dict[str, Any] = {"size": size, "reps": reps, "viewer": "user 1 (sees public + own)",
                              "grid_page": time_grid(db, viewer, size, reps), "queries": {}}
    for kind, cases in mix.items():
        report["queries"][kind] = time_type(db, viewer, cases, engine)
        log(f"  timed {kind}")
    db.close()
    return report


# -- output ------------------------------------------------------------------------------


def _cell(value: Any, key: str) -> str:
    return f"{value[key]:.2f}" if isinstance(value, dict) else "—"


def table(report: dict[str, Any]) -> Iterator[str]:
    yield (f"{report['size']:,} pictures, {report['reps']} queries per type "
           f"(ms; Salon = run_search, bare = FTS5 MATCH ... ORDER BY rowid DESC LIMIT 60)")
    yield f"{'query type':<18} {'salon p50':>10} {'salon p99':>10} {'bare p50':>9} {'bare p99':>9}"
    for kind, row in report["queries"].items():
        salon, bare = row["salon"], row["bare"]
        yield (f"{kind:<18} {_cell(salon, 'p50_ms'):>10} {_cell(salon, 'p99_ms'):>10} "
               f"{_cell(bare, 'p50_ms'):>9} {_cell(bare, 'p99_ms'):>9}"
               + ("" if isinstance(salon, dict) else f"  ({salon})")
               + (f"  ({row['refused']['count']} refused)" if "refused" in row else ""))
    grid = report["grid_page"]
    yield f"{'grid page (60)':<18} {grid['p50_ms']:>10.2f} {grid['p99_ms']:>10.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000,
                        help="pictures in the library (100000 or 1000000)")
    parser.add_argument("--reps", type=int, default=60,
                        help="queries per type (each with different terms), at least 50")
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    log = (lambda _: None) if args.json_only else (lambda line: print(line, file=sys.stderr))
    report = run(args.size, max(args.reps, 50), log)
    print(json.dumps(report, indent=2))
    if not args.json_only:
        print("\n".join(table(report)))


if __name__ == "__main__":
    main()
