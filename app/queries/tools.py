"""Queries over ``image_versions``, ``pipelines``, ``tool_runs`` and ``tool_run_items``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from app.db import Database, Row
from app.queries.visibility import Viewer, viewable

# -- version chains -----------------------------------------------------------------


def add_version(db: Database, image_id: int, parent_id: int, *, tool_id: str | None,
                pipeline: Mapping[str, Any] | None, settings: Any, job_id: int | None) -> None:
    db.execute(
        "INSERT OR IGNORE INTO image_versions (image_id, parent_id, tool_id, pipeline_id,"
        " pipeline_name, settings, job_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (image_id, parent_id, tool_id, pipeline["id"] if pipeline else None,
         pipeline["name"] if pipeline else None, json.dumps(settings), job_id))


_CHAIN_COLUMNS = ("v.image_id AS id, v.parent_id, v.tool_id, v.pipeline_name, v.settings,"
                  " i.file_name, i.title, i.width, i.height, i.created_at")


def ancestors(db: Database, image_id: int, viewer: Viewer, limit: int = 50) -> list[Row]:
    """The parent, its parent ... (nearest first) that this viewer may see."""
    condition, params = viewable(viewer)
    return db.all(
        "WITH RECURSIVE up(id, depth) AS ("
        "  SELECT parent_id, 1 FROM image_versions WHERE image_id = ?"
        "  UNION ALL SELECT v.parent_id, up.depth + 1 FROM image_versions v"
        "  JOIN up ON v.image_id = up.id WHERE up.depth < ?)"
        " SELECT i.id, i.file_name, i.title, i.width, i.height, i.created_at, up.depth,"
        " v.tool_id, v.pipeline_name FROM up JOIN images i ON i.id = up.id"
        " LEFT JOIN image_versions v ON v.image_id = i.id"
        f" WHERE {condition} ORDER BY up.depth",
        [image_id, limit, *params])


def descendants(db: Database, image_id: int, viewer: Viewer, limit: int = 200) -> list[Row]:
    """Every version made from this picture, directly or not, that the viewer may see."""
    condition, params = viewable(viewer)
    return db.all(
        "WITH RECURSIVE down(id, depth) AS ("
        "  SELECT image_id, 1 FROM image_versions WHERE parent_id = ?"
        "  UNION ALL SELECT v.image_id, down.depth + 1 FROM image_versions v"
        "  JOIN down ON v.parent_id = down.id WHERE down.depth < 50)"
        f" SELECT {_CHAIN_COLUMNS}, down.depth FROM down"
        " JOIN image_versions v ON v.image_id = down.id JOIN images i ON i.id = down.id"
        f" WHERE {condition} ORDER BY down.depth, i.id LIMIT ?",
        [image_id, *params, limit])


def version_of(db: Database, image_id: int) -> Row | None:
    return db.one("SELECT * FROM image_versions WHERE image_id = ?", (image_id,))


# -- pipelines ----------------------------------------------------------------------


def pipeline_json(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "description": row["description"],
            "steps": json.loads(row["steps"]), "created_at": row["created_at"],
            "updated_at": row["updated_at"]}


def list_pipelines(db: Database, owner_id: int) -> list[Row]:
    return db.all("SELECT * FROM pipelines WHERE owner_id = ? ORDER BY name COLLATE NOCASE",
                  (owner_id,))


def get_pipeline(db: Database, pipeline_id: int, owner_id: int) -> Row | None:
    return db.one("SELECT * FROM pipelines WHERE id = ? AND owner_id = ?",
                  (pipeline_id, owner_id))


def pipeline_by_name(db: Database, name: str, owner_id: int) -> Row | None:
    return db.one("SELECT * FROM pipelines WHERE name = ? AND owner_id = ?", (name, owner_id))


def insert_pipeline(db: Database, owner_id: int, name: str, description: str,
                    steps: list[dict[str, Any]]) -> int:
    return db.execute(
        "INSERT INTO pipelines (owner_id, name, description, steps) VALUES (?, ?, ?, ?)",
        (owner_id, name, description, json.dumps(steps)))


def update_pipeline(db: Database, pipeline_id: int, name: str, description: str,
                    steps: list[dict[str, Any]]) -> None:
    db.execute(
        "UPDATE pipelines SET name = ?, description = ?, steps = ?,"
        " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
        (name, description, json.dumps(steps), pipeline_id))


def delete_pipeline(db: Database, pipeline_id: int, owner_id: int) -> bool:
    db.execute("DELETE FROM pipelines WHERE id = ? AND owner_id = ?", (pipeline_id, owner_id))
    return db.changes() > 0


# -- runs -----------------------------------------------------------------------------


def insert_run(db: Database, values: Mapping[str, Any]) -> int:
    return db.execute(
        "INSERT INTO tool_runs (owner_id, kind, tool_id, pipeline_id, settings, save, inputs,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (values["owner_id"], values["kind"], values.get("tool_id"), values.get("pipeline_id"),
         json.dumps(values.get("settings", {})), values["save"],
         json.dumps(values.get("inputs", {})), values["created_at"]))


def set_run_job(db: Database, run_id: int, job_id: int) -> None:
    db.execute("UPDATE tool_runs SET job_id = ? WHERE id = ?", (job_id, run_id))


def get_run(db: Database, run_id: int) -> Row | None:
    return db.one("SELECT * FROM tool_runs WHERE id = ?", (run_id,))


def run_of_job(db: Database, job_id: int, owner_id: int) -> Row | None:
    """The run behind ``job_id`` if ``owner_id`` started it (others get None: a 404)."""
    return db.one(
        "SELECT r.*, j.state, j.progress, j.message, j.error, j.result FROM tool_runs r"
        " JOIN jobs j ON j.id = r.job_id WHERE r.job_id = ? AND r.owner_id = ?",
        (job_id, owner_id))


def expired_runs(db: Database, before: float) -> list[Row]:
    return db.all("SELECT id FROM tool_runs WHERE expired = 0 AND created_at < ?", (before,))


def mark_expired(db: Database, run_id: int) -> None:
    db.execute("UPDATE tool_runs SET expired = 1 WHERE id = ?", (run_id,))


def live_run_ids(db: Database) -> set[int]:
    return {row["id"] for row in db.all("SELECT id FROM tool_runs WHERE expired = 0")}


# -- batch items ----------------------------------------------------------------------


def insert_items(db: Database, run_id: int, image_ids: Iterable[int]) -> None:
    for position, image_id in enumerate(image_ids):
        db.execute("INSERT INTO tool_run_items (run_id, position, image_id) VALUES (?, ?, ?)",
                   (run_id, position, image_id))


def items(db: Database, run_id: int) -> list[Row]:
    return db.all("SELECT * FROM tool_run_items WHERE run_id = ? ORDER BY position", (run_id,))


def set_item(db: Database, run_id: int, position: int, **values: Any) -> None:
    names = sorted(values)
    assignments = ", ".join(f"{name} = ?" for name in names)
    db.execute(f"UPDATE tool_run_items SET {assignments} WHERE run_id = ? AND position = ?",
               [*(values[name] for name in names), run_id, position])
