"""rotate: turn by any angle (corners filled with black), then mirror."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool


class RotateSettings(ToolSettings):
    angle: float = Field(0, description="Clockwise angle in degrees; other angles than "
                                        "multiples of 90 fill the corners with black.")
    horizontal: bool = Field(False, description="Mirror left to right (after rotating).")
    vertical: bool = Field(False, description="Mirror top to bottom (after rotating).")


_RIGHT_ANGLES = {90: "d90", 180: "d180", 270: "d270"}


def rotated_size(width: int, height: int, angle: float) -> tuple[float, float]:
    radians = math.radians(angle)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return width * cos + height * sin, width * sin + height * cos


def turn(ctx: ToolContext, image: Any, angle: float) -> Any:
    """``image`` turned clockwise by ``angle`` degrees; exact for right angles."""
    angle %= 360
    nearest = round(angle)
    if math.isclose(angle, nearest, abs_tol=1e-9) and nearest % 90 == 0:
        return image.rot(_RIGHT_ANGLES[nearest]) if nearest % 360 else image
    ctx.check_canvas(*rotated_size(image.width, image.height, angle))
    # Sharp's default: opaque black corners.
    background = [0.0] * (image.bands - 1) + [255.0] if image.hasalpha() else [0.0] * image.bands
    return image.rotate(angle, background=background)


@tool("rotate", title="Rotate & flip", category="essentials", settings=RotateSettings,
      pipeline=True, cheap=True, description="Rotate by any angle, then mirror if asked.")
def rotate(ctx: ToolContext, s: RotateSettings) -> ToolResult:
    image = turn(ctx, imaging.load(ctx.input), s.angle)
    if s.horizontal:
        image = image.fliphor()
    if s.vertical:
        image = image.flipver()
    out = imaging.save(ctx, image, f"{imaging.stem(ctx.input.name)}_rotate",
                       imaging.output_ext(ctx.input))
    return ToolResult(files=[out], data={"width": image.width, "height": image.height})
