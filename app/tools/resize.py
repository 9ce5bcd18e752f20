"""resize: scale to a width, a height, both (with a fit mode) or a percentage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

Fit = Literal["contain", "cover", "fill", "inside", "outside"]


class ResizeSettings(ToolSettings):
    width: float | None = Field(None, gt=0, description="Target width in pixels.")
    height: float | None = Field(None, gt=0, description="Target height in pixels.")
    fit: Fit = Field("contain", description="How to fit both dimensions.")
    withoutEnlargement: bool = Field(False, description="Never make the picture bigger.")
    percentage: float | None = Field(None, gt=0, description="Scale by this percentage "
                                                             "(overrides width and height).")

    @model_validator(mode="after")
    def _something_to_do(self) -> ResizeSettings:
        if self.width is None and self.height is None and self.percentage is None:
            raise ValueError("give a width, a height or a percentage")
        return self


def target_size(src_w: int, src_h: int, s: ResizeSettings) -> tuple[float, float, float, float]:
    """(scale_x, scale_y, out_w, out_h) before cropping, following Sharp's fit modes."""
    if s.percentage is not None:
        scale = s.percentage / 100
        return scale, scale, src_w * scale, src_h * scale
    if s.width is None or s.height is None:
        assert s.width is not None or s.height is not None
        scale = (s.width / src_w) if s.width is not None else (s.height or 0) / src_h
        return scale, scale, src_w * scale, src_h * scale
    sx, sy = s.width / src_w, s.height / src_h
    if s.fit == "fill":
        return sx, sy, s.width, s.height
    scale = max(sx, sy) if s.fit in ("cover", "outside") else min(sx, sy)
    return scale, scale, src_w * scale, src_h * scale


@tool("resize", title="Resize", category="essentials", settings=ResizeSettings,
      pipeline=True, cheap=True,
      description="Scale a picture to a size or a percentage, keeping its format.")
def resize(ctx: ToolContext, s: ResizeSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    sx, sy, out_w, out_h = target_size(image.width, image.height, s)
    if s.withoutEnlargement and (sx > 1 or sy > 1):
        sx = sy = min(1.0, sx, sy) if s.fit != "fill" else 1.0
        out_w, out_h = image.width * sx, image.height * sy
    ctx.check_canvas(out_w, out_h)
    ctx.progress(0.3, "resizing")
    resized = image.resize(sx, vscale=sy, kernel="lanczos3") if (sx, sy) != (1, 1) else image
    if s.fit == "cover" and s.width and s.height and s.percentage is None:
        resized = resized.smartcrop(min(int(s.width), resized.width),
                                    min(int(s.height), resized.height), interesting="centre")
    out = imaging.save(ctx, resized, f"{imaging.stem(ctx.input.name)}_resize",
                       imaging.output_ext(ctx.input))
    return ToolResult(files=[out], data={"width": resized.width, "height": resized.height})
