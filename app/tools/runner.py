"""The ``tool.run`` job: run one tool on a run's staged inputs, then keep its outputs.

Image outputs of a run saved as ``version`` go through the normal upload path
(``ingest``: thumbnails, analysis, search) as new pictures of the run's owner,
linked to their source picture in the version chain; everything stays in the
run folder as an owner-only download until ``SALON_TOOL_RESULTS_HOURS`` have
passed (``remove_expired_runs``, called by the maintenance job).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app.db import Database, Row
from app.errors import NotFound
from app.jobs.context import JobContext
from app.jobs.registry import job_kind
from app.media.ingest import Limits, ingest
from app.media.sniff import SNIFF_BYTES, sniff
from app.media.storage import MediaStore
from app.queries import tools as queries
from app.tools.base import OutputFile, ToolContext
from app.tools.registry import enabled_tool
from app.tools.service import run_folder, staged_inputs, tools_root

log = logging.getLogger(__name__)
STAGING_GRACE_SECONDS = 3600


def download_url(job_id: int, name: str) -> str:
    return f"/api/v1/tools/runs/{job_id}/files/{quote(name)}"


@dataclass(frozen=True)
class Keeper:
    """Where a run's outputs go: the owner's library (as versions) or downloads only."""

    db: Database
    store: MediaStore
    limits: Limits
    owner_id: int
    job_id: int
    save: str

    def keep(self, output: OutputFile, parent_id: int | None, tool_id: str | None,
             pipeline: Mapping[str, Any] | None, settings: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": output.name, "mime": output.mime,
                                 "size": output.path.stat().st_size,
                                 "download_url": download_url(self.job_id, output.name)}
        if self.save == "version" and _is_picture(output.path):
            entry.update(self._save_picture(output, parent_id, tool_id, pipeline, settings))
        return entry

    def _save_picture(self, output: OutputFile, parent_id: int | None, tool_id: str | None,
                      pipeline: Mapping[str, Any] | None, settings: Any) -> dict[str, Any]:
        with output.path.open("rb") as stream:
            stored = ingest(self.db, self.store, stream, output.name, self.owner_id, self.limits)
        image_id = int(stored.image["id"])
        if parent_id is not None and not stored.duplicate and image_id != parent_id:
            queries.add_version(self.db, image_id, parent_id, tool_id=tool_id,
                                pipeline=pipeline, settings=settings, job_id=self.job_id)
        return {"image_id": image_id, "duplicate": stored.duplicate}


def _is_picture(path: Path) -> bool:
    with path.open("rb") as handle:
        media = sniff(handle.read(SNIFF_BYTES))
    return media is not None and media.kind == "image"


def limits_of(config: Mapping[str, Any]) -> Limits:
    return Limits(config["MAX_UPLOAD_MB"] * 2**20, config["MAX_PIXELS"])


def load_run(ctx: JobContext) -> Row:
    run = queries.get_run(ctx.db, int(ctx.job.payload["run_id"]))
    if run is None or run["expired"]:
        raise NotFound(f"tool run {ctx.job.payload.get('run_id')} is gone")
    return run


def keeper_for(ctx: JobContext, run: Row) -> Keeper:
    return Keeper(ctx.db, ctx.store, limits_of(ctx.config), int(run["owner_id"]), ctx.job.id,
                  run["save"])


@job_kind("tool.run", max_attempts=1, timeout_seconds=1800)
def run_tool(ctx: JobContext) -> dict[str, Any]:
    """Run the tool of a ``tool_runs`` row on its staged inputs."""
    run = load_run(ctx)
    tool = enabled_tool(ctx.db, run["tool_id"])  # the admin may have disabled it since
    settings = tool.parse_settings(json.loads(run["settings"]))
    folder = run_folder(ctx.store, run["id"])
    files, extra = staged_inputs(ctx.store, run)
    context = ToolContext([item.as_input(folder / "input") for item in files],
                          {name: item.as_input(folder / "input") for name, item in extra.items()},
                          folder / "output", ctx.config["MAX_PIXELS"],
                          lambda fraction, message: ctx.progress(0.05 + 0.85 * fraction, message))
    ctx.progress(0.05, f"running {tool.id}")
    result = tool.process(context, settings)
    ctx.progress(0.9, "saving results")
    parents = [item.image_id for item in files if item.image_id is not None]
    parent = parents[0] if len(parents) == 1 else None
    keeper = keeper_for(ctx, run)
    outputs = [keeper.keep(output, parent, tool.id, None, json.loads(run["settings"]))
               for output in result.files]
    return {"outputs": outputs, "data": result.data}


def remove_expired_runs(db: Database, store: MediaStore, hours: float,
                        now: float | None = None) -> int:
    """Delete run folders older than ``hours`` (and staging folders a failed request
    left behind, and folders no run knows); returns how many folders went."""
    now = time.time() if now is None else now
    removed = 0
    for row in queries.expired_runs(db, now - hours * 3600):
        shutil.rmtree(run_folder(store, row["id"]), ignore_errors=True)
        queries.mark_expired(db, row["id"])
        removed += 1
    root = tools_root(store)
    if root.is_dir():
        live = queries.live_run_ids(db)
        for folder in root.iterdir():
            if _stray(folder, live, now):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


def _stray(folder: Path, live: set[int], now: float) -> bool:
    # Only old folders: a run being committed right now has its folder before its row.
    if folder.stat().st_mtime >= now - STAGING_GRACE_SECONDS:
        return False
    if folder.name.isdigit():
        return int(folder.name) not in live
    return folder.name.startswith("new-")
