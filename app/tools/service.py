"""Starting a tool run: check the tool, the settings and every input, stage the inputs
in the run's folder and queue the job — all or nothing, and no Flask here.

A run's folder is ``<uploads>/tools/<run id>/`` with ``input/`` (staged files, named
by position, never by what the client sent) and ``output/`` (what the tool wrote).
Uploaded files are sniffed by their magic bytes and held to the upload size and
pixel limits (SVG and PDF only for tools that take them: those tools sanitise and
bound them themselves). Pictures given by id must be visible to the caller; new
versions are saved only of the caller's own pictures.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from app.db import Database, Row
from app.errors import BadRequest, Forbidden, TooLarge, UnsupportedType
from app.jobs.queue import Queue
from app.media.ingest import Limits
from app.media.probe import probe_image
from app.media.sniff import SNIFF_BYTES, describe_unsupported, sniff
from app.media.storage import MediaStore
from app.queries import images
from app.queries import tools as queries
from app.queries.visibility import Viewer
from app.tools.base import PREVIEW_SIZE, InputFile, Tool, ToolContext
from app.tools.registry import enabled_tool, parse_settings, settings_json

CHUNK = 1 << 20
SAVE_MODES = ("version", "download")
SVG_EXT, PDF_EXT = "svg", "pdf"


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: its name (for output names only) and its bytes."""

    name: str
    stream: IO[bytes]


@dataclass
class ToolRequest:
    tool_id: str
    settings: Any = None
    files: Sequence[Upload] = ()
    image_ids: Sequence[int] = ()
    extra: Mapping[str, Upload] = field(default_factory=dict)
    save: str | None = None


@dataclass(frozen=True)
class Staged:
    """One staged input, as recorded in ``tool_runs.inputs``."""

    file: str
    name: str
    mime: str
    image_id: int | None = None

    def as_input(self, folder: Path) -> InputFile:
        return InputFile(folder / self.file, self.name, self.mime)


def tools_root(store: MediaStore) -> Path:
    return store.root / "tools"


def run_folder(store: MediaStore, run_id: int) -> Path:
    return tools_root(store) / str(int(run_id))


def start_tool_run(db: Database, store: MediaStore, limits: Limits, viewer: Viewer,
                   req: ToolRequest) -> int:
    """Validate and stage everything, then queue ``tool.run``; returns the job id."""
    tool = enabled_tool(db, req.tool_id)
    settings = parse_settings(tool, req.settings)
    _check_counts(tool, req)
    sources = [local_source(db, image_id, viewer) for image_id in req.image_ids]
    save = choose_save(req.save, viewer, sources)
    staging = _new_staging(store)
    try:
        manifest = _stage_all(db, store, staging / "input", tool, req, sources, limits)
        values = {"owner_id": viewer.user_id, "kind": "tool", "tool_id": tool.id,
                  "settings": settings_json(settings), "save": save, "inputs": manifest,
                  "created_at": time.time()}
        return _commit_run(db, store, staging, values, "tool.run",
                           image_id=sources[0]["id"] if sources else None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def local_source(db: Database, image_id: int, viewer: Viewer) -> Row:
    """A picture the caller may open and this instance holds the original of: a remote
    (federated) picture is only metadata here, so tools refuse it (400)."""
    row = images.visible_image(db, image_id, viewer)
    if row["peer_id"] is not None:
        raise BadRequest(f"Picture {image_id} is a remote picture from {row['peer_name']}:"
                         " tools work only on this instance's own pictures.",
                         field="image_id")
    return row


def _refuse_remote(db: Database, image_ids: Sequence[int]) -> None:
    """Batches get their pictures from a list or a search: none may be remote."""
    marks = ", ".join("?" for _ in image_ids)
    remote = db.value(f"SELECT min(id) FROM images WHERE peer_id IS NOT NULL AND id IN ({marks})",
                      list(image_ids)) if image_ids else None
    if remote is not None:
        raise BadRequest(f"Picture {remote} is a remote picture: tools work only on this"
                         " instance's own pictures (add source:local to a search).",
                         field="image_ids")


def choose_save(save: str | None, viewer: Viewer, sources: Sequence[Mapping[str, Any]]) -> str:
    """'version' by default for one's own pictures, else 'download'."""
    own = bool(sources) and all(row["owner_id"] == viewer.user_id for row in sources)
    if save in (None, ""):
        return "version" if own else "download"
    if save not in SAVE_MODES:
        raise BadRequest(f"'save' must be one of {', '.join(SAVE_MODES)}.", field="save")
    if save == "version" and sources and not own:
        raise Forbidden("Only your own pictures can get new versions; use save=download.",
                        field="save")
    return save


def _check_counts(tool: Tool[Any], req: ToolRequest) -> None:
    count, spec = len(req.files) + len(req.image_ids), tool.inputs
    if not spec.min_files <= count <= spec.max_files:
        wanted = (f"exactly {spec.min_files}" if spec.min_files == spec.max_files
                  else f"{spec.min_files} to {spec.max_files}")
        raise BadRequest(f"{tool.id} takes {wanted} input file(s) ('file' or 'image_id'); "
                         f"got {count}.", field="file")
    missing = [name for name in spec.extra if name not in req.extra]
    if missing:
        raise BadRequest(f"{tool.id} also needs the file field(s): {', '.join(missing)}.",
                         field=missing[0])


def _new_staging(store: MediaStore) -> Path:
    folder = tools_root(store) / f"new-{secrets.token_hex(8)}"
    (folder / "input").mkdir(parents=True)
    (folder / "output").mkdir()
    return folder


def _stage_all(db: Database, store: MediaStore, folder: Path, tool: Tool[Any],
               req: ToolRequest, sources: Sequence[Mapping[str, Any]],
               limits: Limits) -> dict[str, Any]:
    files: list[Staged] = []
    for row in sources:
        files.append(_stage_picture(store, folder, len(files), row, tool))
    for upload in req.files:
        files.append(receive(folder, str(len(files)), upload, tool.inputs.accepts, limits))
    extra = {name: receive(folder, f"extra-{index}", req.extra[name], ("image",), limits)
             for index, name in enumerate(tool.inputs.extra)}
    return {"files": [vars(item) for item in files],
            "extra": {name: vars(item) for name, item in extra.items()}}


def _stage_picture(store: MediaStore, folder: Path, index: int, row: Mapping[str, Any],
                   tool: Tool[Any]) -> Staged:
    if row["kind"] != "image" or "image" not in tool.inputs.accepts:
        raise UnsupportedType(f"{tool.id} cannot take picture {row['id']} "
                              f"({row['mime']}).", field="image_id")
    target = folder / f"{index}.{row['ext']}"
    link_or_copy(store.original_path(row["sha256"], row["ext"]), target)
    return Staged(target.name, row["file_name"], row["mime"], int(row["id"]))


def link_or_copy(source: Path, target: Path) -> None:
    """Originals are never modified, so a hard link is as good as a copy, and free."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def receive(folder: Path, stem: str, upload: Upload, accepts: Sequence[str],
            limits: Limits) -> Staged:
    """Copy one uploaded file into ``folder`` and check what it really is."""
    partial = folder / f"{stem}.part"
    head = _copy_limited(upload.stream, partial, limits.max_bytes)
    mime, ext = _classify(head, partial, accepts)
    target = folder / f"{stem}.{ext}"
    os.replace(partial, target)
    if mime.startswith("image/") and ext not in (SVG_EXT,):
        probe_image(target, mime, max_pixels=limits.max_pixels)
    return Staged(target.name, upload.name or target.name, mime)


def _copy_limited(stream: IO[bytes], path: Path, max_bytes: int) -> bytes:
    size, head = 0, b""
    with path.open("wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"The file is larger than the {max_bytes // 2**20} MB limit.",
                               field="file")
            if len(head) < 4096:
                head += chunk[: 4096 - len(head)]
            out.write(chunk)
    if size == 0:
        raise BadRequest("The file is empty.", field="file")
    return head


def _classify(head: bytes, path: Path, accepts: Sequence[str]) -> tuple[str, str]:
    media = sniff(head[:SNIFF_BYTES])
    if media is not None and media.kind == "image" and "image" in accepts:
        return media.mime, media.ext
    if "pdf" in accepts and head.startswith(b"%PDF-"):
        return "application/pdf", PDF_EXT
    if "svg" in accepts and looks_like_svg(head):
        return "image/svg+xml", SVG_EXT
    wanted = ", ".join(kind.upper() if kind != "image" else "pictures" for kind in accepts)
    if media is not None:
        raise UnsupportedType(f"{media.label} files are not accepted here; this tool takes "
                              f"{wanted}.", field="file")
    raise UnsupportedType(f"{describe_unsupported(head[:SNIFF_BYTES])} This tool takes "
                          f"{wanted}.", field="file")


def looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in text


def _commit_run(db: Database, store: MediaStore, staging: Path, values: dict[str, Any],
                kind: str, image_id: int | None, items: Sequence[int] = (),
                cpu_slots: int = 1, priority: int = 0) -> int:
    """One transaction: the run row, its items, its job; the folder moves into place
    before the commit, so the worker never sees a run without its inputs."""
    with db.transaction():
        run_id = queries.insert_run(db, values)
        queries.insert_items(db, run_id, items)
        job_id = Queue(db).enqueue(kind, {"run_id": run_id}, user_id=values["owner_id"],
                                   image_id=image_id, cpu_slots=cpu_slots,
                                   priority=priority)
        queries.set_run_job(db, run_id, job_id)
        os.replace(staging, run_folder(store, run_id))
    return job_id


def staged_inputs(store: MediaStore, run: Mapping[str, Any]) -> tuple[list[Staged],
                                                                      dict[str, Staged]]:
    manifest = json.loads(run["inputs"] or "{}")
    files = [Staged(**item) for item in manifest.get("files", [])]
    extra = {name: Staged(**item) for name, item in manifest.get("extra", {}).items()}
    return files, extra


def start_batch(db: Database, store: MediaStore, values: dict[str, Any], image_ids: list[int],
                cpu_slots: int, priority: int = 0) -> int:
    """Queue a ``pipeline.run`` over pictures already checked by the caller."""
    _refuse_remote(db, image_ids)
    staging = _new_staging(store)
    try:
        return _commit_run(db, store, staging, values, "pipeline.run",
                           image_id=image_ids[0] if len(image_ids) == 1 else None,
                           items=image_ids, cpu_slots=cpu_slots, priority=priority)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- live preview ---------------------------------------------------------------------

BROWSER_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"}


def preview(db: Database, store: MediaStore, limits: Limits, viewer: Viewer,
            req: ToolRequest) -> tuple[bytes, str]:
    """Run a cheap one-picture tool on a copy at most PREVIEW_SIZE pixels across,
    synchronously; returns the output picture's bytes and type (nothing is kept)."""
    from app.tools import imaging  # libvips only when a preview is asked for

    tool = enabled_tool(db, req.tool_id)
    if not tool.previewable:
        raise BadRequest(f"{tool.id} has no live preview.", field="tool")
    settings = parse_settings(tool, req.settings)
    _check_counts(tool, req)
    sources = [local_source(db, image_id, viewer) for image_id in req.image_ids]
    staging = _new_staging(store)
    try:
        inputs = []
        if tool.inputs.max_files:
            staged = _stage_all(db, store, staging / "input", tool, req, sources,
                                limits)["files"][0]
            small, scale_x, scale_y = _shrunk(
                imaging, Staged(**staged).as_input(staging / "input"), staging)
            inputs, settings = [small], settings.for_preview(scale_x, scale_y)
        else:
            settings = settings.for_preview(1.0, 1.0)  # a made picture: its own size cap
        result = tool.process(ToolContext(inputs, {}, staging / "output", limits.max_pixels),
                              settings)
        return _preview_bytes(imaging, result.files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _shrunk(imaging: Any, source: InputFile, folder: Path) -> tuple[InputFile, float, float]:
    """A copy at most PREVIEW_SIZE across, and how much smaller it is on each axis."""
    if source.mime not in BROWSER_TYPES | {"image/tiff", "image/heic", "image/heif",
                                           "image/bmp"}:
        return source, 1.0, 1.0
    full = imaging.load(source.path)
    image = imaging.vips().Image.thumbnail(str(source.path), PREVIEW_SIZE, height=PREVIEW_SIZE,
                                           size="down")
    ext = "jpg" if source.mime == "image/jpeg" else "png"
    path = folder / f"preview-source.{ext}"
    imaging.write(image, path, ext)
    return (InputFile(path, source.name, imaging.MIME_BY_EXT[ext]),
            image.width / full.width, image.height / full.height)


def _preview_bytes(imaging: Any, files: Sequence[Any]) -> tuple[bytes, str]:
    pictures = [out for out in files if out.mime.startswith("image/")]
    if not pictures:
        raise BadRequest("This tool gave no picture to preview.")
    out = pictures[0]
    if out.mime in BROWSER_TYPES:
        return out.path.read_bytes(), str(out.mime)
    image = imaging.load(out.path)
    return bytes(image.pngsave_buffer()), "image/png"
