"""Analysis steps. Each reads the decoded picture (decoded once per job) and
writes its own rows. The machine-learning steps register here too.

A step that needs something missing (a model, a program) raises ``Blocked``;
the other steps still run, and the job waits for the resource.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from app.db import Database


@dataclass(frozen=True)
class Picture:
    """What every step gets, decoded once, upright, RGB: the preview (for a video, its
    middle frame) and the frames to look at (a video's at 10 %, 50 % and 90 %)."""

    image_id: int
    owner_id: int
    image: Image.Image
    frames: tuple[Image.Image, ...] = ()

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.image)

    @property
    def views(self) -> tuple[Image.Image, ...]:
        return self.frames or (self.image,)


StepFn = Callable[[Database, Picture, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    run: StepFn


STEPS: dict[str, Step] = {}


def analysis_step(name: str, label: str) -> Callable[[StepFn], StepFn]:
    def register(run: StepFn) -> StepFn:
        STEPS[name] = Step(name, label, run)
        return run

    return register


# -- perceptual hash and near-duplicates ----------------------------------------------------

BANDS = 8


def phash_bits(image: Image.Image) -> int:
    import imagehash

    bits = 0
    for bit in imagehash.phash(image).hash.flatten():
        bits = (bits << 1) | int(bit)
    return bits


def to_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def bands(value: int) -> list[int]:
    return [(value >> (8 * index)) & 0xFF for index in range(BANDS)]


@analysis_step("phash", "Perceptual hash and similar pictures")
def perceptual_hash(db: Database, picture: Picture, config: dict[str, Any]) -> dict[str, Any]:
    value = phash_bits(picture.image)
    with db.transaction():
        db.execute(
            "INSERT INTO image_features (image_id, phash, band0, band1, band2, band3, band4, band5,"
            " band6, band7) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (image_id) DO UPDATE SET"
            " phash = excluded.phash, band0 = excluded.band0, band1 = excluded.band1,"
            " band2 = excluded.band2, band3 = excluded.band3, band4 = excluded.band4,"
            " band5 = excluded.band5, band6 = excluded.band6, band7 = excluded.band7",
            (picture.image_id, to_signed(value), *bands(value)))
        similar = link_similar(db, picture.image_id, value, int(config["SIMILAR_DISTANCE"]))
    return {"phash": f"{value:016x}", "similar": similar}


def link_similar(db: Database, image_id: int, value: int, max_distance: int) -> int:
    """Store both directions of every near-duplicate pair; candidates from the band indexes."""
    max_distance = max(0, min(BANDS - 1, max_distance))
    wanted = bands(value)
    match = " OR ".join(f"band{index} = ?" for index in range(BANDS))
    candidates = db.all(
        "SELECT f.image_id, f.phash FROM image_features f JOIN images i ON i.id = f.image_id"
        f" WHERE ({match}) AND f.image_id != ? AND i.deleted_at IS NULL", [*wanted, image_id])
    db.execute("DELETE FROM image_similar WHERE image_id = ? OR other_id = ?",
               (image_id, image_id))
    found = 0
    for row in candidates:
        distance = ((row["phash"] & ((1 << 64) - 1)) ^ value).bit_count()
        if distance <= max_distance:
            for a, b in ((image_id, row["image_id"]), (row["image_id"], image_id)):
                db.execute("INSERT OR REPLACE INTO image_similar (image_id, other_id, distance)"
                           " VALUES (?, ?, ?)", (a, b, distance))
            found += 1
    return found


# -- dominant colours -----------------------------------------------------------------------

PALETTE_SIZE = 5


def dominant_colors(image: Image.Image, count: int = PALETTE_SIZE) -> list[dict[str, Any]]:
    """The ``count`` main colours with their share of the picture, largest first."""
    small = image.convert("RGB").resize((96, 96), Image.Resampling.BILINEAR)
    quantized = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    total = small.width * small.height
    colors = []
    counted: list[tuple[int, int]] = quantized.getcolors() or []  # type: ignore[assignment]
    for pixels, index in sorted(counted, reverse=True):
        red, green, blue = palette[index * 3: index * 3 + 3]
        colors.append({"hex": f"#{red:02x}{green:02x}{blue:02x}",
                       "share": round(pixels / total, 3)})
    return colors


@analysis_step("colors", "Dominant colours")
def colors_step(db: Database, picture: Picture, config: dict[str, Any]) -> dict[str, Any]:
    colors = dominant_colors(picture.image)
    with db.transaction():
        db.execute("INSERT INTO image_features (image_id, colors) VALUES (?, ?)"
                   " ON CONFLICT (image_id) DO UPDATE SET colors = excluded.colors",
                   (picture.image_id, json.dumps(colors)))
    return {"colors": colors}
