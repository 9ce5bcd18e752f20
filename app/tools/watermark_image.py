"""watermark-image: place a logo (the extra input "watermark") on the picture."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.tools import imaging
from app.tools.base import InputSpec, ToolContext, ToolResult, ToolSettings, tool
from app.tools.watermark_text import anchor, overlay


class WatermarkImageSettings(ToolSettings):
    position: Literal["center", "top-left", "top-right", "bottom-left", "bottom-right"] = Field(
        "bottom-right", description="Where to put the watermark.")
    opacity: float = Field(50, ge=0, le=100, description="Opacity in percent.")
    scale: float = Field(25, ge=1, le=100,
                         description="Watermark width in percent of the picture's width.")


@tool("watermark-image", title="Image watermark", category="watermark",
      settings=WatermarkImageSettings, inputs=InputSpec(extra=("watermark",)),
      description="Place a logo or another picture on the picture, semi-transparent.")
def watermark_image(ctx: ToolContext, s: WatermarkImageSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    mark = imaging.to_srgb8(imaging.load(ctx.extra["watermark"]))
    if not mark.hasalpha():
        mark = mark.bandjoin(255)
    width = max(1.0, image.width * s.scale / 100)
    scale = width / mark.width
    ctx.check_canvas(width, mark.height * scale)
    mark = mark.resize(scale, kernel="lanczos3")
    mark = mark[0:3].bandjoin((mark[3] * (s.opacity / 100)).cast("uchar"))
    mark = mark.copy(interpretation="srgb")
    margin = round(min(image.width, image.height) * 0.02)
    position = anchor(s.position, (image.width, image.height), (mark.width, mark.height),
                      margin)
    result = overlay(image, mark, [position])
    out = imaging.save(ctx, result, f"{imaging.stem(ctx.input.name)}_watermark-image",
                       imaging.output_ext(ctx.input))
    return ToolResult(files=[out], data={"x": position[0], "y": position[1],
                                         "width": mark.width, "height": mark.height})
