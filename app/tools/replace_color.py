"""replace-color: move the colours near one colour to another, or make them transparent."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool


class ReplaceColorSettings(ToolSettings):
    sourceColor: str = Field("#FF0000", pattern=imaging.HEX6, description="Colour to replace.")
    targetColor: str = Field("#00FF00", pattern=imaging.HEX6, description="Colour to put there.")
    makeTransparent: bool = Field(False, description="Make matching pixels transparent instead.")
    tolerance: float = Field(30, ge=0, le=255, description="How far (RGB distance) a colour may "
                                                           "be from the source and still match.")


def match_weight(rgb: Any, source: list[float], tolerance: float) -> Any:
    """Per pixel, 1 for the source colour falling to 0 at the tolerance's edge (× 1.73)."""
    distance = ((rgb.cast("float") - source) ** 2).bandmean() * 3
    distance = distance ** 0.5
    reach = tolerance * 1.73
    if reach <= 0:
        return (distance < 0.5).ifthenelse(1.0, 0.0)
    return (distance <= reach).ifthenelse(1 - distance / (reach + math.ulp(reach)), 0.0)


def replace(image: Any, s: ReplaceColorSettings) -> Any:
    image = imaging.to_srgb8(image)
    alpha = image[3] if image.hasalpha() else image[0].new_from_image(255)
    rgb = image[0:3]
    weight = match_weight(rgb, imaging.hex_rgb(s.sourceColor), s.tolerance)
    if s.makeTransparent:
        alpha = (alpha * (1 - weight)).cast("uchar")
    else:
        target = imaging.hex_rgb(s.targetColor)
        rgb = (rgb * (1 - weight) + weight * target).cast("uchar")
    return rgb.bandjoin(alpha).copy(interpretation="srgb")


@tool("replace-color", title="Replace colour", category="adjustments",
      settings=ReplaceColorSettings, pipeline=True, cheap=True,
      description="Replace a colour (within a tolerance) by another one or by transparency.")
def replace_color(ctx: ToolContext, s: ReplaceColorSettings) -> ToolResult:
    image = replace(imaging.load(ctx.input), s)
    out = imaging.save(ctx, image, f"{imaging.stem(ctx.input.name)}_replace-color", "png")
    return ToolResult(files=[out])
