"""split: cut a picture into a grid of tiles, delivered as a ZIP."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import OutputFile, ToolContext, ToolError, ToolResult, ToolSettings, tool

MAX_TILES = 10_000


class SplitSettings(ToolSettings):
    columns: int = Field(3, ge=1, le=100, description="Number of tile columns.")
    rows: int = Field(3, ge=1, le=100, description="Number of tile rows.")
    tileWidth: float | None = Field(None, ge=10, description="Tile width in pixels "
                                                             "(overrides columns).")
    tileHeight: float | None = Field(None, ge=10, description="Tile height in pixels "
                                                              "(overrides rows).")
    outputFormat: Literal["original", "png", "jpg", "webp", "avif"] = Field(
        "original", description="Format of the tiles.")
    quality: int = Field(90, ge=1, le=100, description="Quality of lossy formats.")


@tool("split", title="Split", category="layout", settings=SplitSettings,
      description="Cut a picture into a grid of tiles (a ZIP of pictures).")
@_canvas.vips_errors
def split(ctx: ToolContext, s: SplitSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    xs = edges(image.width, s.columns, s.tileWidth)
    ys = edges(image.height, s.rows, s.tileHeight)
    tiles = (len(xs) - 1) * (len(ys) - 1)
    if tiles > MAX_TILES:
        raise ToolError(f"that would make {tiles:,} tiles; at most {MAX_TILES:,} are allowed")
    ext = imaging.output_ext(ctx.input) if s.outputFormat == "original" else s.outputFormat
    base = imaging.stem(ctx.input.name)
    path = ctx.output(f"{base}_split.zip")
    members = write_tiles(ctx, image, xs, ys, ext, s.quality)
    count = _canvas.write_zip(path, ((f"{base}_{name}", tile) for name, tile in members))
    return ToolResult(files=[OutputFile(path, path.name, "application/zip")],
                      data={"tiles": count, "columns": len(xs) - 1, "rows": len(ys) - 1})


def edges(size: int, count: int, tile: float | None) -> list[int]:
    """Cut positions 0 … size. Without a tile size the last tile absorbs the remainder;
    with one, every tile has that size except a smaller last one."""
    if tile is not None:
        step = int(tile)
        count = math.ceil(size / step)
        return [min(i * step, size) for i in range(count)] + [size]
    if count > size:
        raise ToolError(f"cannot cut {size} pixels into {count} tiles")
    step = size // count
    return [i * step for i in range(count)] + [size]


def write_tiles(ctx: ToolContext, image: Any, xs: list[int], ys: list[int], ext: str,
                quality: int) -> Iterator[tuple[str, Path]]:
    """Write tiles one at a time (each is zipped and deleted before the next is made)."""
    total = (len(xs) - 1) * (len(ys) - 1)
    for row in range(len(ys) - 1):
        for column in range(len(xs) - 1):
            ctx.progress((row * (len(xs) - 1) + column) / total, "cutting tiles")
            tile = image.crop(xs[column], ys[row], xs[column + 1] - xs[column],
                              ys[row + 1] - ys[row])
            name = f"r{row + 1}_c{column + 1}.{ext}"
            path = ctx.output(f"tile_{name}")
            imaging.write(tile, path, ext, quality=quality)
            yield name, path
