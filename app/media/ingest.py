"""The upload path: bytes in, a picture row out, or a precise error and no trace.

sniff magic bytes → dedupe by SHA-256 per owner → guard pixels (header only)
→ derived images (EXIF-oriented thumb + preview; this decodes fully, so a
corrupt file fails here) → metadata → move files into place and insert rows
under one write lock. Anything that fails removes the work folder; nothing
half-written is ever left.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.analysis.service import enqueue_analysis
from app.db import Database, Row
from app.errors import BadRequest, TooLarge, UnsupportedType
from app.media.derive import make_derivatives
from app.media.metadata import extract_metadata
from app.media.probe import probe_image
from app.media.sniff import SNIFF_BYTES, MediaType, describe_unsupported, sniff
from app.media.storage import MediaStore
from app.media.video import extract_poster, probe_video
from app.queries import images

log = logging.getLogger(__name__)

CHUNK = 1 << 20
VISIBILITIES = ("private", "unlisted", "public")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class Ingested:
    image: Row
    duplicate: bool
    job_id: int | None = None


@dataclass
class _Upload:
    work: Path
    original: Path
    sha256: str
    size: int
    media: MediaType


def ingest(db: Database, store: MediaStore, stream: IO[bytes], file_name: str, owner_id: int,
           limits: Limits, visibility: str = "private", title: str = "") -> Ingested:
    """Store one uploaded file for ``owner_id``; see the module docstring."""
    if visibility not in VISIBILITIES:
        raise BadRequest(f"Visibility must be one of {', '.join(VISIBILITIES)}.",
                         field="visibility")
    work = store.temp_dir()
    try:
        upload = _receive(stream, work, limits.max_bytes)
        existing = images.find_live_duplicate(db, owner_id, upload.sha256)
        if existing is not None:
            return Ingested(existing, duplicate=True)
        values = _analyse(upload, limits)
        values.update(owner_id=owner_id, file_name=_display_name(file_name),
                      visibility=visibility, title=title.strip()[:200])
        return _commit(db, store, upload, values)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _receive(stream: IO[bytes], work: Path, max_bytes: int) -> _Upload:
    """Copy the stream into the work folder while hashing; sniff its type."""
    digest, size, head = hashlib.sha256(), 0, b""
    original = work / "original"
    with original.open("wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"The file is larger than the {max_bytes // 2**20} MB limit.",
                               limit_bytes=max_bytes)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise BadRequest("The file is empty.", field="file")
    media = sniff(head)
    if media is None:
        raise UnsupportedType(describe_unsupported(head), field="file")
    return _Upload(work, original, digest.hexdigest(), size, media)


def _analyse(upload: _Upload, limits: Limits) -> dict[str, Any]:
    """Dimensions, derived images and metadata; raises on anything unreadable."""
    media, derived_dir = upload.media, upload.work / "derived"
    derived_dir.mkdir()
    values: dict[str, Any] = {"sha256": upload.sha256, "kind": media.kind, "mime": media.mime,
                              "ext": media.ext, "size_bytes": upload.size}
    if media.kind == "video":
        values.update(_analyse_video(upload, derived_dir, limits))
        return values
    info = probe_image(upload.original, media.mime, max_pixels=limits.max_pixels)
    derived = make_derivatives(upload.original, media.mime, derived_dir)
    values.update(width=derived.width, height=derived.height, frames=info.frames)
    values["metadata"] = extract_metadata(upload.original, media.mime)
    values["taken_at"] = values["metadata"].get("exif", {}).get("taken_at")
    return values


def _analyse_video(upload: _Upload, derived_dir: Path, limits: Limits) -> dict[str, Any]:
    info = probe_video(upload.original)
    if info.width * info.height > limits.max_pixels:
        raise TooLarge(f"The video is {info.width}×{info.height} pixels; the limit is "
                       f"{limits.max_pixels:,} pixels.")
    poster = upload.work / "poster.png"
    extract_poster(upload.original, poster, info.duration)
    derived = make_derivatives(poster, "image/png", derived_dir)
    return {"width": derived.width, "height": derived.height, "duration": info.duration,
            "codec": info.codec, "metadata": {}}


def _commit(db: Database, store: MediaStore, upload: _Upload, values: dict[str, Any]) -> Ingested:
    metadata = metadata_columns(values.pop("metadata"))
    with db.transaction():
        existing = images.find_live_duplicate(db, values["owner_id"], upload.sha256)
        if existing is not None:  # the same file finished in a parallel request
            return Ingested(existing, duplicate=True)
        store.adopt(upload.work, upload.original, upload.sha256, upload.media.ext)
        image_id = images.insert_image(db, values)
        images.insert_metadata(db, image_id, metadata)
        images.index_image(db, image_id)
        # Queued in the same transaction: a stored picture always gets analysed.
        job_id = enqueue_analysis(db, image_id, values["owner_id"])
        row = db.one("SELECT * FROM images WHERE id = ?", (image_id,))
    assert row is not None
    log.info("stored picture %s (%s, %s bytes) for user %s", image_id, upload.media.mime,
             upload.size, values["owner_id"])
    return Ingested(row, duplicate=False, job_id=job_id)


def metadata_columns(metadata: dict[str, Any]) -> dict[str, Any]:
    """Flatten ``extract_metadata`` output into ``image_metadata`` columns."""
    exif = metadata.get("exif") or {}
    gps = metadata.get("gps") or {}
    generation = metadata.get("generation") or {}
    return {
        "camera_make": exif.get("make"), "camera_model": exif.get("model"),
        "lens": exif.get("lens"), "exposure_time": exif.get("exposure_time"),
        "f_number": _real(exif.get("f_number")), "iso": _integer(exif.get("iso")),
        "focal_length": _real(exif.get("focal_length")),
        "gps_latitude": _real(gps.get("latitude")), "gps_longitude": _real(gps.get("longitude")),
        "gps_altitude": _real(gps.get("altitude")),
        "generator": generation.get("tool"), "prompt": generation.get("prompt"),
        "negative_prompt": generation.get("negative_prompt"),
        "steps": _integer(generation.get("steps")),
        "sampler": generation.get("sampler"), "scheduler": generation.get("scheduler"),
        "cfg_scale": _real(generation.get("cfg_scale")), "seed": _integer(generation.get("seed")),
        "model": generation.get("model"), "model_hash": generation.get("model_hash"),
        "exif_json": json.dumps(exif, default=str),
        "generation_json": json.dumps(generation, default=str),
        "text_json": json.dumps(metadata.get("text") or {}, default=str),
    }


def _integer(value: Any) -> int | None:
    """An int SQLite can store (seeds may exceed 64 bits: those stay in the JSON only)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -(2**63) <= number < 2**63 else None


def _real(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _display_name(file_name: str) -> str:
    """The name shown to people; never used to build a path."""
    name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in name if ch.isprintable()).strip()
    return cleaned[:255] or "upload"


