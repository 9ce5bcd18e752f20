"""Pipelines: named, saved sequences of pipeline-capable tools with their settings.

Every step is checked (the tool exists, is enabled, takes one picture and gives
one, its settings are valid) before a pipeline is saved and again before it runs,
so a run never stops at step 3 because step 3 was never valid. Applying the steps
feeds each step's output file to the next, exactly as running the tools one by one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.db import Database, IntegrityError, Row
from app.errors import AppError, BadRequest, Conflict, Forbidden, NotFound
from app.media.storage import MediaStore
from app.queries import images
from app.queries import tools as queries
from app.queries.visibility import Viewer
from app.search.engine import run_search
from app.tools.base import InputFile, OutputFile, Tool, ToolContext, ToolError
from app.tools.registry import (
    InvalidSettings,
    ToolDisabled,
    disabled_tools,
    find_tool,
    parse_settings,
    settings_json,
)
from app.tools.service import start_batch

MAX_STEPS = 20
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Step:
    tool: Tool[Any]
    settings: Any

    def as_json(self) -> dict[str, Any]:
        return {"tool": self.tool.id, "settings": settings_json(self.settings)}


def validate_steps(db: Database, raw: Any) -> list[Step]:
    """Check every step; the first bad one is named ("step 2 (rotate): ...")."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'steps' must be a non-empty list of {\"tool\", \"settings\"}.",
                         field="steps")
    if len(raw) > MAX_STEPS:
        raise BadRequest(f"A pipeline has at most {MAX_STEPS} steps.", field="steps")
    off = disabled_tools(db)
    return [_step(index + 1, item, off) for index, item in enumerate(raw)]


def _step(number: int, item: Any, off: set[str]) -> Step:
    where = f"steps.{number - 1}"
    if not isinstance(item, dict) or not isinstance(item.get("tool"), str):
        raise BadRequest(f"Step {number} must be {{\"tool\": id, \"settings\": {{...}}}}.",
                         field=where)
    try:
        tool = find_tool(item["tool"])
    except NotFound:
        raise BadRequest(f"Step {number}: no tool named {item['tool']!r}.",
                         field=f"{where}.tool") from None
    if tool.id in off:
        raise ToolDisabled(f"Step {number} ({tool.id}): the tool is disabled on this "
                           "instance.", field=f"{where}.tool", tool=tool.id)
    if not tool.pipeline:
        raise BadRequest(f"Step {number} ({tool.id}): this tool cannot be a pipeline step "
                         "(it does not turn one picture into one picture).",
                         field=f"{where}.tool")
    try:
        settings = parse_settings(tool, item.get("settings") or {})
    except InvalidSettings as error:
        fields = [{**bad, "field": f"{where}.settings.{bad['field']}"}
                  for bad in error.details.get("fields", [])]
        raise InvalidSettings(f"invalid settings in step {number} ({tool.id})",
                              fields=fields) from None
    return Step(tool, settings)


def _clean_name(name: Any, description: Any) -> tuple[str, str]:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise BadRequest("A pipeline needs a name of 1 to 100 characters.", field="name")
    description = description or ""
    if not isinstance(description, str) or len(description) > 500:
        raise BadRequest("The description is at most 500 characters.", field="description")
    return name.strip(), description.strip()


def save_pipeline(db: Database, owner_id: int, body: Mapping[str, Any],
                  pipeline_id: int | None = None) -> Row:
    """Create (or, with ``pipeline_id``, replace) a pipeline from ``{name, description,
    steps}``; 409 when the owner already has one by that name."""
    name, description = _clean_name(body.get("name"), body.get("description"))
    steps = [step.as_json() for step in validate_steps(db, body.get("steps"))]
    try:
        with db.transaction():
            if pipeline_id is None:
                pipeline_id = queries.insert_pipeline(db, owner_id, name, description, steps)
            else:
                owned_pipeline(db, pipeline_id, owner_id)
                queries.update_pipeline(db, pipeline_id, name, description, steps)
    except IntegrityError:
        raise Conflict(f"You already have a pipeline named {name!r}.", field="name") from None
    return owned_pipeline(db, pipeline_id, owner_id)


def owned_pipeline(db: Database, pipeline_id: int, owner_id: int) -> Row:
    row = queries.get_pipeline(db, pipeline_id, owner_id)
    if row is None:
        raise NotFound("No such pipeline.")
    return row


def pipeline_named(db: Database, name: str, owner_id: int) -> Row:
    row = queries.pipeline_by_name(db, name, owner_id)
    if row is None:
        raise NotFound(f"No pipeline named {name!r}.")
    return row


def steps_of(db: Database, row: Mapping[str, Any]) -> list[Step]:
    """A saved pipeline's steps, checked again (a tool may have been disabled since)."""
    return validate_steps(db, json.loads(row["steps"]))


def apply_steps(steps: list[Step], source: InputFile, workdir: Path, max_pixels: int,
                progress: Progress = lambda fraction, message: None) -> OutputFile:
    """Run the steps in order on one picture; returns the last step's output file."""
    current, output = source, None
    for number, step in enumerate(steps, start=1):
        folder = workdir / f"step{number}"
        folder.mkdir(parents=True, exist_ok=True)

        def report(fraction: float, message: str, number: int = number) -> None:
            progress((number - 1 + fraction) / len(steps), f"step {number}: {message}")

        output = _run_step(step, number, current, folder, max_pixels, report)
        current = InputFile(output.path, output.name, output.mime)
    assert output is not None
    return output


def _run_step(step: Step, number: int, source: InputFile, folder: Path, max_pixels: int,
              progress: Progress) -> OutputFile:
    context = ToolContext([source], {}, folder, max_pixels, progress)
    try:
        result = step.tool.process(context, step.settings)
    except AppError as error:
        raise type(error)(f"Step {number} ({step.tool.id}): {error.message}",
                          **error.details) from error
    pictures = [out for out in result.files if out.mime.startswith("image/")]
    if len(pictures) != 1:
        raise ToolError(f"Step {number} ({step.tool.id}) gave {len(pictures)} pictures "
                        "instead of one.")
    return pictures[0]


# -- starting runs ------------------------------------------------------------------

MAX_BATCH = 500
RUN_MODES = ("version", "zip")


@dataclass(frozen=True)
class Selection:
    """What to run a pipeline on: picture ids, or a search as the caller sees it."""

    image_ids: tuple[int, ...] = ()
    query: str | None = None


def resolve_selection(db: Database, viewer: Viewer, selection: Selection, mode: str,
                      timeout_ms: int = 2000) -> list[Row]:
    """The pictures (visible to the caller; own ones for new versions), at most MAX_BATCH."""
    if selection.query is not None:
        owner = viewer.user_id if mode == "version" else None
        page = run_search(db, viewer, selection.query, owner_id=owner, limit=MAX_BATCH,
                          timeout_ms=timeout_ms)
        rows = [images.visible_image(db, row["id"], viewer) for row in page.items]
    else:
        if not 1 <= len(selection.image_ids) <= MAX_BATCH:
            raise BadRequest(f"Choose between 1 and {MAX_BATCH} pictures.", field="image_ids")
        rows = [images.visible_image(db, image_id, viewer)
                for image_id in dict.fromkeys(selection.image_ids)]
    rows = [row for row in rows if row["kind"] == "image"]
    if not rows:
        raise BadRequest("No pictures to run the pipeline on.", field="image_ids")
    if mode == "version" and any(row["owner_id"] != viewer.user_id for row in rows):
        raise Forbidden("Only your own pictures can get new versions; use mode=zip.",
                        field="mode")
    return rows


def start_pipeline_run(db: Database, store: MediaStore, viewer: Viewer, pipeline: Row,
                       selection: Selection, mode: str, config: Mapping[str, Any],
                       priority: int = 0) -> int:
    """Check the steps and the pictures, then queue ``pipeline.run``; returns the job id."""
    if mode not in RUN_MODES:
        raise BadRequest(f"'mode' must be one of {', '.join(RUN_MODES)}.", field="mode")
    steps = steps_of(db, pipeline)
    rows = resolve_selection(db, viewer, selection, mode, config.get("QUERY_TIMEOUT_MS", 2000))
    concurrency = max(1, min(int(config.get("TOOL_BATCH_CONCURRENCY", 2)),
                             int(config.get("CPU_SLOTS", 1)), len(rows)))
    values = {"owner_id": viewer.user_id, "kind": "pipeline", "pipeline_id": pipeline["id"],
              "settings": {"name": pipeline["name"],
                           "steps": [step.as_json() for step in steps]},
              "save": mode, "created_at": time.time()}
    return start_batch(db, store, values, [int(row["id"]) for row in rows], concurrency,
                       priority)
