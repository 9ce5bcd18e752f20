"""collage: arrange pictures in one of ashim's 23 templates on a 2400-pixel canvas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.tools import _canvas, imaging
from app.tools.base import (
    InputSpec,
    OutputFile,
    ToolContext,
    ToolError,
    ToolResult,
    ToolSettings,
    tool,
)

CANVAS_BASE = 2400  # the longer side of the canvas
T = 1 / 3
Cell = tuple[float, float, float, float]  # left, top, width, height as fractions of the canvas


def _grid(columns: int, rows: int) -> list[Cell]:
    return [(c / columns, r / rows, 1 / columns, 1 / rows)
            for r in range(rows) for c in range(columns)]


def _row(top: float, height: float, count: int) -> list[Cell]:
    return [(c / count, top, 1 / count, height) for c in range(count)]


def _column(left: float, width: float, count: int) -> list[Cell]:
    return [(left, r / count, width, 1 / count) for r in range(count)]


TEMPLATES: dict[str, list[Cell]] = {
    "2-h-equal": _grid(2, 1),
    "2-v-equal": _grid(1, 2),
    "2-h-left-large": [(0, 0, 2 * T, 1), (2 * T, 0, T, 1)],
    "2-h-right-large": [(0, 0, T, 1), (T, 0, 2 * T, 1)],
    "3-left-large": [(0, 0, 2 * T, 1), *_column(2 * T, T, 2)],
    "3-right-large": [*_column(0, T, 2), (T, 0, 2 * T, 1)],
    "3-top-large": [(0, 0, 1, 2 * T), (0, 2 * T, 0.5, T), (0.5, 2 * T, 0.5, T)],
    "3-h-equal": _grid(3, 1),
    "3-v-equal": _grid(1, 3),
    "4-grid": _grid(2, 2),
    "4-left-large": [(0, 0, 2 * T, 1), *_column(2 * T, T, 3)],
    "4-top-large": [(0, 0, 1, 2 * T), *_row(2 * T, T, 3)],
    "4-bottom-large": [*_row(0, T, 3), (0, T, 1, 2 * T)],
    "5-top2-bottom3": [*_row(0, 0.5, 2), *_row(0.5, 0.5, 3)],
    "5-top3-bottom2": [*_row(0, 0.5, 3), *_row(0.5, 0.5, 2)],
    "5-left-large": [(0, 0, 0.5, 1), (0.5, 0, 0.25, 0.5), (0.75, 0, 0.25, 0.5),
                     (0.5, 0.5, 0.25, 0.5), (0.75, 0.5, 0.25, 0.5)],
    "5-center-large": [(0, 0, 0.25, 0.5), (0, 0.5, 0.25, 0.5), (0.25, 0, 0.5, 1),
                       (0.75, 0, 0.25, 0.5), (0.75, 0.5, 0.25, 0.5)],
    "6-grid-2x3": _grid(2, 3),
    "6-grid-3x2": _grid(3, 2),
    "6-top-large": [(0, 0, 2 * T, 2 * T), (2 * T, 0, T, T), (2 * T, T, T, T),
                    *_row(2 * T, T, 3)],
    "7-mosaic": [(0, 0, 0.5, 2 * T), (0.5, 0, 0.5, T), (0.5, T, 0.25, T), (0.75, T, 0.25, T),
                 *_row(2 * T, T, 3)],
    "8-mosaic": [*_row(0, 0.4, 2), *_row(0.4, 0.3, 3), *_row(0.7, 0.3, 3)],
    "9-grid": _grid(3, 3),
}
TemplateId = Literal[
    "2-h-equal", "2-v-equal", "2-h-left-large", "2-h-right-large", "3-left-large",
    "3-right-large", "3-top-large", "3-h-equal", "3-v-equal", "4-grid", "4-left-large",
    "4-top-large", "4-bottom-large", "5-top2-bottom3", "5-top3-bottom2", "5-left-large",
    "5-center-large", "6-grid-2x3", "6-grid-3x2", "6-top-large", "7-mosaic", "8-mosaic",
    "9-grid"]
ASPECT = {"free": (4, 3), "1:1": (1, 1), "4:3": (4, 3), "3:2": (3, 2), "16:9": (16, 9),
          "9:16": (9, 16), "4:5": (4, 5)}


class CollageCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imageIndex: int = Field(ge=0, description="Which input picture fills this cell.")
    panX: float = Field(0, ge=-100, le=100, description="Horizontal pan in percent.")
    panY: float = Field(0, ge=-100, le=100, description="Vertical pan in percent.")
    zoom: float = Field(1, ge=1, le=10, description="Zoom factor inside the cell.")
    objectFit: Literal["cover", "contain"] = Field("cover", description="Fill or fit the cell.")


class CollageSettings(ToolSettings):
    templateId: TemplateId = Field(description="The layout template.")
    cells: list[CollageCell] | None = Field(None, description="Per-cell picture and framing.")
    gap: float = Field(8, ge=0, le=500, description="Space between and around cells, pixels.")
    cornerRadius: float = Field(0, ge=0, le=500, description="Rounded cell corners, pixels.")
    backgroundColor: str = Field("#FFFFFF", pattern=r"^(#[0-9A-Fa-f]{6}|transparent)$",
                                 description="Canvas colour, or transparent.")
    aspectRatio: Literal["free", "1:1", "4:3", "3:2", "16:9", "9:16", "4:5"] = Field(
        "free", description="Canvas shape (free is 4:3).")
    outputFormat: Literal["png", "jpeg", "webp", "avif"] = Field("png", description="Format.")
    quality: int = Field(90, ge=1, le=100, description="Quality of lossy formats.")


@tool("collage", title="Collage", category="layout", settings=CollageSettings,
      inputs=InputSpec(min_files=1, max_files=9),
      description="Arrange up to nine pictures in a collage template.")
@_canvas.vips_errors
def collage(ctx: ToolContext, s: CollageSettings) -> ToolResult:
    width, height = canvas_size(s.aspectRatio)
    ctx.check_canvas(width, height)
    canvas = _canvas.solid(width, height, background(s.backgroundColor))
    boxes = cell_boxes(TEMPLATES[s.templateId], width, height, s.gap)
    for number, box in enumerate(boxes):
        cell = cell_settings(s, number, len(ctx.inputs))
        if cell is None:
            continue
        ctx.progress(number / len(boxes), f"cell {number + 1} of {len(boxes)}")
        picture = imaging.load(ctx.inputs[cell.imageIndex])
        framed = _canvas.rounded(frame(picture, box[2], box[3], cell), s.cornerRadius)
        canvas = _canvas.paste(canvas, framed, box[0], box[1])
    ext = _canvas.EXT[s.outputFormat]
    path = ctx.output(f"collage.{ext}")
    imaging.write(canvas, path, ext, quality=s.quality)
    return ToolResult(files=[OutputFile(path, path.name, imaging.MIME_BY_EXT[ext])],
                      data={"width": width, "height": height, "cells": len(boxes)})


def canvas_size(aspect: str) -> tuple[int, int]:
    w, h = ASPECT[aspect]
    if w >= h:
        return CANVAS_BASE, round(CANVAS_BASE * h / w)
    return round(CANVAS_BASE * w / h), CANVAS_BASE


def background(color: str) -> list[float]:
    return [0.0, 0.0, 0.0, 0.0] if color == "transparent" else [*_canvas.rgb(color), 255.0]


def cell_boxes(cells: list[Cell], width: int, height: int, gap: float
               ) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (left, top, width, height): ``gap`` around the canvas and between cells."""
    boxes = []
    for fx, fy, fw, fh in cells:
        left = round(fx * (width - gap) + gap)
        top = round(fy * (height - gap) + gap)
        right = round((fx + fw) * (width - gap))
        bottom = round((fy + fh) * (height - gap))
        if right - left < 1 or bottom - top < 1:
            raise ToolError(f"a gap of {gap:g} pixels leaves no room for the cells")
        boxes.append((left, top, right - left, bottom - top))
    return boxes


def cell_settings(s: CollageSettings, number: int, inputs: int) -> CollageCell | None:
    """The framing of cell ``number``; by default the pictures fill cells in order."""
    if s.cells is not None and number < len(s.cells):
        cell = s.cells[number]
        if cell.imageIndex >= inputs:
            raise ToolError(f"cells[{number}].imageIndex is {cell.imageIndex}, but only "
                            f"{inputs} picture(s) were given")
        return cell
    if number >= inputs:
        return None
    return CollageCell(imageIndex=number, panX=0, panY=0, zoom=1, objectFit="cover")


def frame(picture: Any, width: int, height: int, cell: CollageCell) -> Any:
    """The picture scaled (cover or contain, times zoom) and panned into a cell's box."""
    scale = (max if cell.objectFit == "cover" else min)(width / picture.width,
                                                        height / picture.height) * cell.zoom
    scaled = picture.resize(scale, kernel="lanczos3")
    left = _offset(scaled.width - width, cell.panX)
    top = _offset(scaled.height - height, cell.panY)
    if left >= 0 and top >= 0:
        return scaled.crop(left, top, width, height)
    # Smaller than the cell (contain): centre it on a transparent cell-sized box.
    cropped = scaled.crop(max(left, 0), max(top, 0), min(scaled.width, width),
                          min(scaled.height, height))
    box = _canvas.solid(width, height, [0.0, 0.0, 0.0, 0.0])
    return _canvas.paste(box, cropped, max(-left, 0), max(-top, 0))


def _offset(excess: int, pan: float) -> int:
    """Crop offset for an ``excess`` of pixels: pan −100 shows the start, +100 the end."""
    if excess <= 0:
        return excess // 2
    return round(excess * (0.5 + pan / 200))
