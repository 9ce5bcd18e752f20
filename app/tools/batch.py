"""The ``pipeline.run`` job (a saved pipeline over many pictures) and ZIP streaming.

Concurrency: one job per batch, with ``SALON_TOOL_BATCH_CONCURRENCY`` threads inside
it. libvips releases the GIL while it works, so threads use that many cores; the job
declares as many CPU slots, so the worker's budget counts them. One job keeps one
progress bar, one cancel button and one result for the whole batch, while
``tool_run_items`` records each picture's state and error: one picture failing is
written down and the others go on.

ZIPs are built while they are sent: ``zip_stream`` writes each member into a small
buffer that is handed out and emptied after every chunk, so neither the whole ZIP
nor a temporary ZIP file ever exists.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import threading
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.db import Row
from app.errors import AppError
from app.jobs.context import JobCancelled, JobContext
from app.jobs.registry import job_kind
from app.queries import tools as queries
from app.tools.base import InputFile, OutputFile, ToolError
from app.tools.pipelines import Step, apply_steps, validate_steps
from app.tools.runner import Keeper, keeper_for, load_run
from app.tools.service import run_folder

log = logging.getLogger(__name__)
CHUNK = 1 << 20


@dataclass
class Batch:
    ctx: JobContext
    run: Row
    steps: list[Step]
    keeper: Keeper
    folder: Path
    total: int
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    names: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def pipeline(self) -> dict[str, Any]:
        return {"id": self.run["pipeline_id"], "name": json.loads(self.run["settings"])["name"]}

    def process(self, item: Row) -> None:
        """One picture: its own success or failure, recorded; never the batch's."""
        if self.stop.is_set():
            return
        try:
            self._report()  # raises JobCancelled once the batch was cancelled
            values = self._outcome(item)
            queries.set_item(self.ctx.db, self.run["id"], item["position"], **values)
            self._advance()
        except JobCancelled:
            self.stop.set()  # the other pictures are not started
            raise
        finally:
            self.ctx.db.close()  # this pool thread's connection

    def _outcome(self, item: Row) -> dict[str, Any]:
        try:
            return self._item(item)
        except JobCancelled:
            raise
        except AppError as error:
            return {"state": "failed", "error": error.message}
        except Exception as error:  # any failure is this item's, not the batch's
            log.exception("pipeline item %s/%s failed", self.run["id"], item["position"])
            return {"state": "failed", "error": f"{type(error).__name__}: {error}"}
        finally:
            shutil.rmtree(self.folder / "work" / str(item["position"]), ignore_errors=True)

    def _item(self, item: Row) -> dict[str, Any]:
        db, run_id, position = self.ctx.db, self.run["id"], item["position"]
        queries.set_item(db, run_id, position, state="running")
        source = _source(self.ctx, item)
        work = self.folder / "work" / str(position)
        output = apply_steps(self.steps, source, work, self.ctx.config["MAX_PIXELS"])
        kept = self._move(output)
        entry = self.keeper.keep(kept, item["image_id"], None, self.pipeline,
                                 [step.as_json() for step in self.steps])
        return {"state": "succeeded", "output_name": kept.name,
                "output_image_id": entry.get("image_id")}

    def _move(self, output: OutputFile) -> OutputFile:
        with self.lock:
            name = unique_name(output.name, self.names)
            self.names.add(name)
        target = self.folder / "output" / name
        shutil.move(output.path, target)
        return OutputFile(target, name, output.mime)

    def _advance(self) -> None:
        self._report(finished=1)

    def _report(self, finished: int = 0) -> None:
        with self.lock:
            self.done += finished
            done = self.done
        self.ctx.progress(done / self.total, f"{done} of {self.total} pictures")

def unique_name(name: str, taken: set[str]) -> str:
    """``a.png``, then ``a_1.png``, ``a_2.png`` ... (as ashim names batch outputs)."""
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, f".{ext}") if dot else (name, "")
    number = 1
    while f"{stem}_{number}{ext}" in taken:
        number += 1
    return f"{stem}_{number}{ext}"


def _source(ctx: JobContext, item: Row) -> InputFile:
    row = None
    if item["image_id"] is not None:
        row = ctx.db.one("SELECT * FROM images WHERE id = ? AND deleted_at IS NULL",
                         (item["image_id"],))
    if row is None:
        raise ToolError("the picture was deleted before its turn")
    return InputFile(ctx.store.original_path(row["sha256"], row["ext"]), row["file_name"],
                     row["mime"])


@job_kind("pipeline.run", max_attempts=1, timeout_seconds=6 * 3600)
def run_pipeline(ctx: JobContext) -> dict[str, Any]:
    """Run a saved pipeline over the pictures of a ``tool_runs`` row."""
    run = load_run(ctx)
    steps = validate_steps(ctx.db, json.loads(run["settings"])["steps"])
    items = queries.items(ctx.db, run["id"])
    batch = Batch(ctx, run, steps, keeper_for(ctx, run), run_folder(ctx.store, run["id"]),
                  max(1, len(items)))
    workers = max(1, int(ctx.config.get("TOOL_BATCH_CONCURRENCY", 2)))
    with ThreadPoolExecutor(workers, thread_name_prefix=f"pipeline-{run['id']}") as pool:
        futures = [pool.submit(batch.process, item) for item in items]
        for future in futures:
            future.result()  # re-raises JobCancelled
    return batch_result(ctx, run)


def batch_result(ctx: JobContext, run: Row) -> dict[str, Any]:
    rows = queries.items(ctx.db, run["id"])
    failed = [row for row in rows if row["state"] != "succeeded"]
    if rows and len(failed) == len(rows):
        raise ToolError(f"all {len(rows)} pictures failed; the first: {failed[0]['error']}")
    outputs = [{"name": row["output_name"], "image_id": row["output_image_id"],
                "source_image_id": row["image_id"],
                "download_url": f"/api/v1/tools/runs/{ctx.job.id}/files/{row['output_name']}"}
               for row in rows if row["state"] == "succeeded"]
    return {"outputs": outputs,
            "data": {"total": len(rows), "succeeded": len(rows) - len(failed),
                     "failed": len(failed),
                     "errors": [{"image_id": row["image_id"], "error": row["error"]}
                                for row in failed]},
            "zip_url": f"/api/v1/tools/runs/{ctx.job.id}/zip"}


# -- ZIP streaming ----------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only, unseekable buffer: zipfile then writes data descriptors and never
    seeks back, and we hand out (and forget) what it wrote after every chunk."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(members: Iterable[tuple[str, Path]]) -> Iterator[bytes]:
    """The bytes of a ZIP of ``(name in the archive, file)`` pairs, chunk by chunk."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, path in members:
            with path.open("rb") as source, archive.open(name, "w", force_zip64=True) as member:
                while chunk := source.read(CHUNK):
                    member.write(chunk)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    yield sink.drain()


def zip_members(folder: Path, names: Iterable[str]) -> list[tuple[str, Path]]:
    """(name, file) of the outputs a run's ZIP holds: plain names inside ``output/``."""
    output = folder / "output"
    members = []
    for name in names:
        path = output / Path(name).name
        if name == path.name and path.is_file():
            members.append((name, path))
    return members
