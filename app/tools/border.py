"""border: padding, a coloured border, rounded corners and a drop shadow, in that order."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import PX, ToolContext, ToolResult, ToolSettings, tool


class BorderSettings(ToolSettings):
    borderWidth: float = Field(10, ge=0, le=2000, json_schema_extra=PX,
                               description="Border width in pixels.")
    borderColor: _canvas.Hex6 = Field("#000000", description="Border colour.")
    padding: float = Field(0, ge=0, le=200, json_schema_extra=PX,
                           description="Space between picture and border.")
    paddingColor: _canvas.Hex6 = Field("#FFFFFF", description="Colour of the padding.")
    cornerRadius: float = Field(0, ge=0, le=2000, json_schema_extra=PX,
                                description="Rounded outer corners, pixels.")
    shadow: bool = Field(False, description="Add a drop shadow.")
    shadowBlur: float = Field(15, ge=1, le=200, json_schema_extra=PX,
                              description="Shadow softness in pixels.")
    shadowOffsetX: float = Field(0, ge=-50, le=50, json_schema_extra=PX,
                                 description="Shadow shift to the right.")
    shadowOffsetY: float = Field(5, ge=-50, le=50, json_schema_extra=PX,
                                 description="Shadow shift downwards.")
    shadowColor: _canvas.Hex6 = Field("#000000", description="Shadow colour.")
    shadowOpacity: float = Field(40, ge=0, le=100, description="Shadow opacity in percent.")


@tool("border", title="Border", category="layout", settings=BorderSettings, pipeline=True,
      cheap=True, description="Frame a picture with padding, a border, round corners and a "
                              "shadow.")
@_canvas.vips_errors
def border(ctx: ToolContext, s: BorderSettings) -> ToolResult:
    image = _canvas.as_srgb(imaging.load(ctx.input))
    pad, line = int(s.padding), int(s.borderWidth)
    width, height = image.width + 2 * (pad + line), image.height + 2 * (pad + line)
    margin = shadow_margin(s)
    ctx.check_canvas(width + 2 * margin, height + 2 * margin)
    framed = surround(image, pad, _canvas.rgb(s.paddingColor))
    framed = surround(framed, line, _canvas.rgb(s.borderColor))
    if s.cornerRadius > 0:
        framed = _canvas.rounded(framed, s.cornerRadius)
    if s.shadow:
        ctx.progress(0.4, "casting the shadow")
        framed = drop_shadow(framed, s, margin)
    ext = imaging.output_ext(ctx.input)
    if framed.hasalpha() and ext not in imaging.ALPHA_FORMATS:
        ext = "png"  # keep the transparent corners and shadow
    out = imaging.save(ctx, framed, f"{imaging.stem(ctx.input.name)}_border", ext)
    return ToolResult(files=[out], data={"width": framed.width, "height": framed.height})


def surround(image: Any, width: int, color: list[float]) -> Any:
    """``image`` on a ``color`` canvas ``width`` pixels larger on every side."""
    if width <= 0:
        return image
    if image.hasalpha():
        color = [*color, 255.0]
    canvas = _canvas.solid(image.width + 2 * width, image.height + 2 * width, color)
    return _canvas.paste(canvas, image, width, width)


def shadow_margin(s: BorderSettings) -> int:
    """Room around the framed picture for the blurred, shifted shadow."""
    if not s.shadow:
        return 0
    return int(s.shadowBlur * 2 + max(abs(s.shadowOffsetX), abs(s.shadowOffsetY)))


def drop_shadow(framed: Any, s: BorderSettings, margin: int) -> Any:
    framed = _canvas.as_srgb_alpha(framed)
    w, h = framed.width + 2 * margin, framed.height + 2 * margin
    silhouette = framed[3].embed(margin + int(s.shadowOffsetX), margin + int(s.shadowOffsetY),
                                 w, h)
    alpha = silhouette.gaussblur(s.shadowBlur / 2) * (s.shadowOpacity / 100)
    shadow = _canvas.solid(w, h, _canvas.rgb(s.shadowColor)).bandjoin(alpha.cast("uchar"))
    return _canvas.paste(shadow.copy(interpretation="srgb"), framed, margin, margin)
