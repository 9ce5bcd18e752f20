"""The ``analyze`` job: decode the picture once, run every step, record each outcome.

Steps that fail or are blocked do not stop the others. Afterwards the job
fails (to be retried; steps already done are skipped) if a step failed, or
waits for the resource if one was blocked.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from app.analysis.service import analysis_state, set_step
from app.analysis.steps import STEPS, Picture
from app.jobs.context import Blocked, JobContext
from app.jobs.registry import job_kind
from app.media.video import extract_frames

log = logging.getLogger(__name__)


class StepsFailed(Exception):
    pass


FRAME_SIZE = 1024


def load_picture(ctx: JobContext, image_id: int) -> Picture | None:
    row = ctx.db.one("SELECT id, owner_id, sha256, ext, kind, duration FROM images"
                     " WHERE id = ? AND deleted_at IS NULL", (image_id,))
    if row is None:
        return None
    with Image.open(ctx.store.derived_path(row["sha256"], "preview.webp")) as preview:
        image = preview.convert("RGB")
    frames: tuple[Image.Image, ...] = ()
    if row["kind"] == "video":
        frames = video_frames(ctx.store.original_path(row["sha256"], row["ext"]),
                              float(row["duration"] or 0))
        image = frames[len(frames) // 2] if frames else image
    return Picture(row["id"], row["owner_id"], image, frames)


def video_frames(path: Path, duration: float) -> tuple[Image.Image, ...]:
    """Three frames (10 %, 50 %, 90 %), decoded once and shrunk like a preview."""
    with tempfile.TemporaryDirectory(prefix="frames-") as folder:
        frames = []
        for frame_path in extract_frames(path, Path(folder), duration):
            with Image.open(frame_path) as frame:
                small = frame.convert("RGB")
                small.thumbnail((FRAME_SIZE, FRAME_SIZE))
                frames.append(small)
    return tuple(frames)


@job_kind("analyze", timeout_seconds=600, max_attempts=3)
def analyze(ctx: JobContext) -> dict[str, Any]:
    image_id = int(ctx.job.payload["image_id"])
    picture = load_picture(ctx, image_id)
    if picture is None:
        return {"skipped": "the picture was deleted"}
    todo = _todo(ctx, image_id)
    ctx.progress(0.05, "decoded")
    results: dict[str, Any] = {}
    failures: list[str] = []
    blocked: list[Blocked] = []
    for index, name in enumerate(todo):
        outcome = "done"
        try:
            results[name] = STEPS[name].run(ctx.db, picture, ctx.config)
            set_step(ctx.db, image_id, name, "done")
        except Blocked as error:
            set_step(ctx.db, image_id, name, "blocked", error.reason)
            blocked.append(error)
            outcome = "waiting"
        except Exception as error:  # one step's failure must not hide the others' results
            log.exception("analysis step %s failed for picture %s", name, image_id)
            set_step(ctx.db, image_id, name, "failed", f"{type(error).__name__}: {error}")
            failures.append(name)
            outcome = "failed"
        ctx.progress((index + 1) / (len(todo) + 1), f"{STEPS[name].label}: {outcome}")
    _announce(ctx, picture)
    if failures:
        raise StepsFailed(f"step(s) failed: {', '.join(failures)}")
    if blocked:  # wait until any missing resource arrives; the rest block again then
        raise Blocked(" ".join(error.reason for error in blocked),
                      ",".join(sorted({error.resource for error in blocked})))
    return {"steps": results}


def _todo(ctx: JobContext, image_id: int) -> list[str]:
    wanted = [name for name in ctx.job.payload.get("steps") or STEPS if name in STEPS]
    if ctx.job.payload.get("force"):
        return wanted
    done = {row["step"] for row in ctx.db.all(
        "SELECT step FROM analysis_steps WHERE image_id = ? AND state = 'done'", (image_id,))}
    return [name for name in wanted if name not in done]


def _announce(ctx: JobContext, picture: Picture) -> None:
    ctx.queue.image_updated(picture.image_id, picture.owner_id,
                            {"analysis": analysis_state(ctx.db, picture.image_id)})
