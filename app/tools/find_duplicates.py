"""find-duplicates: group pictures that look alike by a 128-bit difference hash."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import InputFile, InputSpec, ToolContext, ToolResult, ToolSettings, tool

HASH_BITS = 128
THUMBNAIL_SIZE = 200


class FindDuplicatesSettings(ToolSettings):
    threshold: int = Field(8, ge=0, le=20, description="Largest Hamming distance (of 128 bits) "
                                                       "still counted as a duplicate.")


@dataclass
class Entry:
    source: InputFile
    bits: np.ndarray
    width: int
    height: int
    size: int


@tool("find-duplicates", title="Find duplicates", category="utilities",
      settings=FindDuplicatesSettings, inputs=InputSpec(min_files=2, max_files=500),
      description="Group near-identical pictures (dHash) and point out the best of each group.")
@_canvas.vips_errors
def find_duplicates(ctx: ToolContext, s: FindDuplicatesSettings) -> ToolResult:
    entries = []
    for index, source in enumerate(ctx.inputs):
        ctx.progress(index / len(ctx.inputs) * 0.8, f"hashing {source.name}")
        image = imaging.load(source, access="sequential")
        entries.append(Entry(source, dhash(source), image.width, image.height,
                             source.path.stat().st_size))
    groups = group(entries, s.threshold)
    ctx.progress(0.9, "describing groups")
    described = [describe(number + 1, [entries[i] for i in members])
                 for number, members in enumerate(groups)]
    grouped = sum(len(members) for members in groups)
    saveable = sum(f["fileSize"] for g in described for f in g["files"] if not f["isBest"])
    return ToolResult(data={"totalImages": len(entries), "duplicateGroups": described,
                            "uniqueImages": len(entries) - grouped, "spaceSaveable": saveable})


def dhash(source: InputFile) -> np.ndarray:
    """128 bits: brightness steps along the rows of a 9×8 grey thumbnail, then down the
    columns of an 8×9 one."""
    rows = _grey(_canvas.thumbnail(source.path, 9, 8, size="force"))
    columns = _grey(_canvas.thumbnail(source.path, 8, 9, size="force"))
    return np.concatenate([(rows[:, 1:] > rows[:, :-1]).ravel(),
                           (columns[1:, :] > columns[:-1, :]).ravel()])


def _grey(image: Any) -> np.ndarray:
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    grey = image.colourspace("b-w")[0].cast("uchar")
    return np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8,
                      shape=(grey.height, grey.width)).astype(np.int16)


def group(entries: list[Entry], threshold: int) -> list[list[int]]:
    """Connected groups (by index) of pictures within ``threshold`` bits of each other."""
    parent = list(range(len(entries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(entries)):
        for j in range(i + 1, len(entries)):
            if int(np.count_nonzero(entries[i].bits != entries[j].bits)) <= threshold:
                parent[root(j)] = root(i)
    clusters: dict[int, list[int]] = {}
    for i in range(len(entries)):
        clusters.setdefault(root(i), []).append(i)
    return [members for members in clusters.values() if len(members) > 1]


def describe(group_id: int, members: list[Entry]) -> dict[str, Any]:
    """One duplicate group; the best file has the most pixels, then the largest file."""
    best = max(members, key=lambda e: (e.width * e.height, e.size))
    files = []
    for entry in members:
        distance = int(np.count_nonzero(entry.bits != best.bits))
        files.append({"filename": entry.source.name,
                      "similarity": round(100 * (1 - distance / HASH_BITS), 2),
                      "width": entry.width, "height": entry.height, "fileSize": entry.size,
                      "format": imaging.EXT_BY_MIME.get(entry.source.mime, "unknown"),
                      "isBest": entry is best, "thumbnail": thumbnail(entry.source)})
    return {"groupId": group_id, "files": files}


def thumbnail(source: InputFile) -> str:
    """A 200-pixel JPEG of the picture as a data URI."""
    image = _canvas.thumbnail(source.path, THUMBNAIL_SIZE)
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    jpeg = image.jpegsave_buffer(Q=75, keep=0)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
