"""Queue analysis for pictures and read back its state."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from app.analysis.steps import STEPS
from app.db import Database, Row
from app.jobs.queue import Queue
from app.queries.visibility import Viewer, listable

ANALYZE = "analyze"


def enqueue_analysis(db: Database, image_id: int, owner_id: int,
                     steps: Iterable[str] | None = None, *, force: bool = False) -> int:
    """Mark the steps pending and queue one ``analyze`` job (deduplicated per picture)."""
    names = [name for name in (steps or STEPS) if name in STEPS]
    now = time.time()
    with db.transaction():
        for name in names:
            db.execute(
                "INSERT INTO analysis_steps (image_id, step, state, reason, updated_at)"
                " VALUES (?, ?, 'pending', NULL, ?) ON CONFLICT (image_id, step) DO UPDATE SET"
                " state = 'pending', reason = NULL, updated_at = excluded.updated_at"
                + ("" if force else " WHERE state != 'done'"),
                (image_id, name, now))
        return Queue(db).enqueue(ANALYZE, {"image_id": image_id, "steps": names, "force": force},
                                 dedupe_key=f"{ANALYZE}:{image_id}", user_id=owner_id,
                                 image_id=image_id)


def reanalyze_many(db: Database, owner_id: int, image_ids: Iterable[Any]) -> int:
    """Queue a fresh analysis of the owner's pictures among ``image_ids``."""
    from app.media.library import parse_ids

    count = 0
    for image_id in parse_ids(image_ids):
        if db.one("SELECT 1 FROM images WHERE id = ? AND owner_id = ? AND deleted_at IS NULL",
                  (image_id, owner_id)):
            enqueue_analysis(db, image_id, owner_id, force=True)
            count += 1
    return count


def pictures_matching(db: Database, query: str, owner_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(picture, owner) for each owner's live pictures matching ``query`` in the search
    language, read as that owner sees their own library."""
    from app.search.engine import run_search

    found: list[tuple[int, int]] = []
    for owner in owner_ids:
        cursor: str | int | None = None
        while True:
            page = run_search(db, Viewer(owner), query, owner_id=owner, cursor=cursor,
                              limit=200, timeout_ms=30_000)
            # A peer's pictures (its shadow account's) are analysed on their origin only.
            found += [(row["id"], owner) for row in page.items if not row.get("peer_id")]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return found


def set_step(db: Database, image_id: int, step: str, state: str,
             reason: str | None = None) -> None:
    with db.transaction():
        db.execute(
            "INSERT INTO analysis_steps (image_id, step, state, reason, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (image_id, step) DO UPDATE SET"
            " state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at",
            (image_id, step, state, reason, time.time()))


def analysis_state(db: Database, image_id: int) -> dict[str, Any]:
    """``{"state", "steps": [{"name", "label", "state", "reason"}]}`` for the API and pages."""
    rows = db.all("SELECT step, state, reason FROM analysis_steps WHERE image_id = ?",
                  (image_id,))
    order = list(STEPS)
    rows.sort(key=lambda row: order.index(row["step"]) if row["step"] in order else len(order))
    steps = [{"name": row["step"], "label": STEPS[row["step"]].label if row["step"] in STEPS
              else row["step"], "state": row["state"], "reason": row["reason"]} for row in rows]
    return {"state": overall([step["state"] for step in steps]), "steps": steps}


def overall(states: list[str]) -> str:
    if not states:
        return "none"
    for state in ("failed", "blocked", "pending"):
        if state in states:
            return state
    return "done"


def features(db: Database, image_id: int) -> Row | None:
    return db.one("SELECT phash, colors FROM image_features WHERE image_id = ?", (image_id,))


def similar_images(db: Database, viewer: Viewer, image_id: int, limit: int = 12) -> list[Row]:
    """Near-duplicates of a picture that this viewer may see, closest first."""
    condition, params = listable(viewer)
    return db.all(
        "SELECT i.id, i.title, i.file_name, i.width, i.height, i.rating, s.distance"
        " FROM image_similar s JOIN images i ON i.id = s.other_id"
        f" WHERE s.image_id = ? AND {condition} ORDER BY s.distance, i.id DESC LIMIT ?",
        [image_id, *params, limit])
