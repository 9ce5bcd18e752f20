"""stitch: join pictures side by side, one under another, or in a grid."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import InputSpec, OutputFile, ToolContext, ToolResult, ToolSettings, tool

ResizeMode = Literal["fit", "original", "stretch", "crop"]
Alignment = Literal["start", "center", "end"]


class StitchSettings(ToolSettings):
    direction: Literal["horizontal", "vertical", "grid"] = Field(
        "horizontal", description="Side by side, one under another, or a grid.")
    gridColumns: int = Field(2, ge=2, le=100, description="Columns of the grid.")
    resizeMode: ResizeMode = Field(
        "fit", description="fit: scale to the smallest picture keeping proportions; stretch: "
                           "distort to it; crop: cut to it; original: keep sizes.")
    alignment: Alignment = Field("center", description="Where smaller pictures sit in their "
                                                       "row, column or cell.")
    gap: float = Field(0, ge=0, le=1000, description="Space between pictures, pixels.")
    border: float = Field(0, ge=0, le=500, description="Margin around the result, pixels.")
    cornerRadius: float = Field(0, ge=0, le=500, description="Rounded corners of each picture.")
    backgroundColor: _canvas.Hex6 = Field("#FFFFFF", description="Colour of gaps and margins.")
    format: Literal["png", "jpeg", "webp", "avif"] = Field("png", description="Output format.")
    quality: int = Field(90, ge=1, le=100, description="Quality of lossy formats.")


@tool("stitch", title="Stitch", category="layout", settings=StitchSettings,
      inputs=InputSpec(min_files=2, max_files=100),
      description="Join pictures horizontally, vertically or in a grid.")
@_canvas.vips_errors
def stitch(ctx: ToolContext, s: StitchSettings) -> ToolResult:
    pictures = [imaging.load(source) for source in ctx.inputs]
    slot_w, slot_h = slot_size(pictures, s)
    fitted = [fit(p, slot_w, slot_h, s) for p in pictures]
    places, width, height = layout(fitted, slot_w, slot_h, s)
    ctx.check_canvas(width, height)
    canvas = _canvas.solid(width, height, _canvas.rgb(s.backgroundColor))
    for index, (picture, (x, y)) in enumerate(zip(fitted, places, strict=True)):
        ctx.progress(index / len(pictures), f"placing picture {index + 1}")
        canvas = _canvas.paste(canvas, _canvas.rounded(picture, s.cornerRadius), x, y)
    ext = _canvas.EXT[s.format]
    path = ctx.output(f"stitch.{ext}")
    imaging.write(canvas, path, ext, quality=s.quality)
    return ToolResult(files=[OutputFile(path, path.name, imaging.MIME_BY_EXT[ext])],
                      data={"width": width, "height": height})


def slot_size(pictures: list[Any], s: StitchSettings) -> tuple[int, int]:
    """The shared size: the smallest picture's (the largest's when keeping sizes).

    A horizontal join only shares the height and a vertical one the width; a grid's cells
    share both.
    """
    pick = max if s.resizeMode == "original" else min
    return pick(p.width for p in pictures), pick(p.height for p in pictures)


def fit(picture: Any, slot_w: int, slot_h: int, s: StitchSettings) -> Any:
    """The picture made to fit the shared size according to ``resizeMode``."""
    if s.resizeMode == "original":
        return picture
    across_w = s.direction != "horizontal"  # the width is shared
    across_h = s.direction != "vertical"  # the height is shared
    target_w = slot_w if across_w else picture.width
    target_h = slot_h if across_h else picture.height
    if s.resizeMode == "stretch":
        return scale_to(picture, target_w, target_h)
    if s.resizeMode == "crop":
        return cover(picture, target_w, target_h, s.alignment)
    if across_w and across_h:  # a grid cell: fit inside
        scale = min(slot_w / picture.width, slot_h / picture.height)
    else:
        scale = target_w / picture.width if across_w else target_h / picture.height
    return scale_to(picture, max(1, round(picture.width * scale)),
                    max(1, round(picture.height * scale)))


def scale_to(picture: Any, width: int, height: int) -> Any:
    if (width, height) == (picture.width, picture.height):
        return picture
    scaled = picture.resize(width / picture.width, vscale=height / picture.height,
                            kernel="lanczos3")
    return scaled.crop(0, 0, min(width, scaled.width), min(height, scaled.height))


def cover(picture: Any, width: int, height: int, alignment: str) -> Any:
    """Scale to cover ``width`` × ``height`` and cut the excess at ``alignment``."""
    scale = max(width / picture.width, height / picture.height)
    scaled = picture.resize(scale, kernel="lanczos3") if scale != 1 else picture
    w, h = min(width, scaled.width), min(height, scaled.height)
    return scaled.crop(align(scaled.width - w, alignment), align(scaled.height - h, alignment),
                       w, h)


def layout(pictures: list[Any], slot_w: int, slot_h: int, s: StitchSettings
           ) -> tuple[list[tuple[int, int]], int, int]:
    """Top-left corner of every picture, and the canvas size."""
    gap, border = int(s.gap), int(s.border)
    if s.direction == "horizontal":
        band = max(p.height for p in pictures)
        xs = _running([p.width for p in pictures], gap, border)
        places = [(x, border + align(band - p.height, s.alignment))
                  for x, p in zip(xs, pictures, strict=True)]
        return places, xs[-1] + pictures[-1].width + border, band + 2 * border
    if s.direction == "vertical":
        band = max(p.width for p in pictures)
        ys = _running([p.height for p in pictures], gap, border)
        places = [(border + align(band - p.width, s.alignment), y)
                  for y, p in zip(ys, pictures, strict=True)]
        return places, band + 2 * border, ys[-1] + pictures[-1].height + border
    columns = min(s.gridColumns, len(pictures))
    rows = math.ceil(len(pictures) / columns)
    places = []
    for index, p in enumerate(pictures):
        row, column = divmod(index, columns)
        places.append((border + column * (slot_w + gap) + align(slot_w - p.width, s.alignment),
                       border + row * (slot_h + gap) + align(slot_h - p.height, s.alignment)))
    return (places, columns * slot_w + (columns - 1) * gap + 2 * border,
            rows * slot_h + (rows - 1) * gap + 2 * border)


def _running(sizes: list[int], gap: int, start: int) -> list[int]:
    positions, at = [], start
    for size in sizes:
        positions.append(at)
        at += size + gap
    return positions


def align(space: int, alignment: str) -> int:
    return {"start": 0, "center": space // 2, "end": space}[alignment]
