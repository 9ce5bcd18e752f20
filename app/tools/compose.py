"""compose: place an overlay picture on a base picture with an opacity and a blend mode."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import InputSpec, ToolContext, ToolError, ToolResult, ToolSettings, tool

BlendMode = Literal["over", "multiply", "screen", "overlay", "darken", "lighten", "hard-light",
                    "soft-light", "difference", "exclusion"]


class ComposeSettings(ToolSettings):
    x: float = Field(0, ge=0, description="Left edge of the overlay, in pixels from the left.")
    y: float = Field(0, ge=0, description="Top edge of the overlay, in pixels from the top.")
    opacity: float = Field(100, ge=0, le=100, description="Overlay opacity in percent.")
    blendMode: BlendMode = Field("over", description="How overlay and base pixels combine.")


@tool("compose", title="Compose", category="watermark", settings=ComposeSettings,
      inputs=InputSpec(extra=("overlay",)), cheap=True,
      description="Place an overlay picture on the base at a position, opacity and blend mode.")
@_canvas.vips_errors
def compose(ctx: ToolContext, s: ComposeSettings) -> ToolResult:
    base = _canvas.as_srgb(imaging.load(ctx.input))
    overlay = _canvas.as_srgb_alpha(imaging.load(ctx.extra["overlay"]))
    x, y = int(s.x), int(s.y)
    if x >= base.width or y >= base.height:
        raise ToolError(f"the overlay at ({x}, {y}) lies outside the "
                        f"{base.width} × {base.height} base picture")
    if s.opacity < 100:
        alpha = (overlay[3] * (s.opacity / 100)).cast("uchar")
        overlay = overlay[0:3].bandjoin(alpha).copy(interpretation="srgb")
    ctx.progress(0.3, "composing")
    had_alpha = base.hasalpha()
    mode = s.blendMode.replace("-", "_")
    out = _canvas.as_srgb_alpha(base).composite2(overlay, mode, x=x, y=y)
    out = out.cast("uchar").copy(interpretation="srgb")
    if not had_alpha:
        out = out[0:3].copy(interpretation="srgb")
    saved = imaging.save(ctx, out, f"{imaging.stem(ctx.input.name)}_compose",
                         imaging.output_ext(ctx.input))
    return ToolResult(files=[saved], data={"width": out.width, "height": out.height})
