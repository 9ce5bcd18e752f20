"""crop: cut out a rectangle given in pixels or in percent of the picture."""

from __future__ import annotations

import math
from typing import Literal, Self

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolError, ToolResult, ToolSettings, tool


class CropSettings(ToolSettings):
    left: float = Field(ge=0, description="Left edge of the region.")
    top: float = Field(ge=0, description="Top edge of the region.")
    width: float = Field(gt=0, description="Width of the region.")
    height: float = Field(gt=0, description="Height of the region.")
    unit: Literal["px", "percent"] | None = Field(
        None, description="Whether the numbers are pixels (default) or percent of the picture.")

    def for_preview(self, scale_x: float, scale_y: float) -> Self:
        if self.unit == "percent":
            return self
        # Rounded down, so a region touching the edge stays inside the smaller copy.
        return self.model_copy(update={
            "left": math.floor(self.left * scale_x), "top": math.floor(self.top * scale_y),
            "width": max(1, math.floor(self.width * scale_x)),
            "height": max(1, math.floor(self.height * scale_y))})


def region(image_w: int, image_h: int, s: CropSettings) -> tuple[int, int, int, int]:
    """(left, top, width, height) in whole pixels; refuses a region outside the picture."""
    left, top, width, height = s.left, s.top, s.width, s.height
    if s.unit == "percent":
        left, width = left * image_w / 100, width * image_w / 100
        top, height = top * image_h / 100, height * image_h / 100
    box = round(left), round(top), max(1, round(width)), max(1, round(height))
    if box[0] + box[2] > image_w or box[1] + box[3] > image_h:
        raise ToolError(f"the crop region {box[2]} × {box[3]} at ({box[0]}, {box[1]}) leaves "
                        f"the {image_w} × {image_h} picture")
    return box


@tool("crop", title="Crop", category="essentials", settings=CropSettings, pipeline=True,
      cheap=True, description="Cut out a rectangle of the picture, keeping its format.")
def crop(ctx: ToolContext, s: CropSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    left, top, width, height = region(image.width, image.height, s)
    cropped = image.crop(left, top, width, height)
    ext = imaging.output_ext(ctx.input)
    out = imaging.save(ctx, cropped, f"{imaging.stem(ctx.input.name)}_crop", ext, quality=95)
    return ToolResult(files=[out], data={"width": width, "height": height})
