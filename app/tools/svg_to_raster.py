"""svg-to-raster: render a (sanitised) SVG drawing to a picture at a DPI or a size."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.tools import _canvas, _svg_safety, imaging
from app.tools.base import (
    InputSpec,
    ToolContext,
    ToolError,
    ToolResult,
    ToolSettings,
    tool,
)

SVG_DPI = 72  # librsvg's unit scale: dpi / 72 multiplies the drawing's own size


class SvgToRasterSettings(ToolSettings):
    width: int | None = Field(None, ge=1, le=65536, description="Fit inside this width.")
    height: int | None = Field(None, ge=1, le=65536, description="Fit inside this height.")
    dpi: int = Field(300, ge=36, le=2400, description="Rendering density when no size is "
                                                      "given.")
    quality: int = Field(90, ge=1, le=100, description="Quality of lossy formats.")
    backgroundColor: _canvas.Hex6to8 = Field("#00000000", description="Background colour "
                                                                      "(#RRGGBB or #RRGGBBAA).")
    outputFormat: Literal["png", "jpg", "webp", "avif", "tiff", "gif", "heif"] = Field(
        "png", description="Output format.")


@tool("svg-to-raster", title="SVG to image", category="format", settings=SvgToRasterSettings,
      inputs=InputSpec(accepts=("svg",)),
      description="Rasterise an SVG drawing (scripts and external references refused).")
@_canvas.vips_errors
def svg_to_raster(ctx: ToolContext, s: SvgToRasterSettings) -> ToolResult:
    data = _svg_safety.sanitised(ctx.input.path.read_bytes())
    pyvips = imaging.vips()
    try:
        natural = pyvips.Image.svgload_buffer(data, dpi=SVG_DPI)
        scale = render_scale(natural.width, natural.height, s)
        ctx.check_canvas(natural.width * scale, natural.height * scale)
        ctx.progress(0.3, "rendering")
        image = pyvips.Image.svgload_buffer(data, dpi=SVG_DPI, scale=scale)
        image = flatten(image, _canvas.rgba(s.backgroundColor))
        ext = s.outputFormat
        out = imaging.save(ctx, image, imaging.stem(ctx.input.name), ext, quality=s.quality)
    except pyvips.Error as exc:
        raise ToolError(f"cannot render the SVG: {str(exc).strip().splitlines()[-1]}") from exc
    return ToolResult(files=[out], data={"width": image.width, "height": image.height})


def render_scale(width: int, height: int, s: SvgToRasterSettings) -> float:
    """Sharp's rule: a size fits the drawing inside it, otherwise the DPI scales it."""
    if s.width is not None or s.height is not None:
        return min(s.width / width if s.width else float("inf"),
                   s.height / height if s.height else float("inf"))
    return s.dpi / SVG_DPI


def flatten(image: Any, background: list[float]) -> Any:
    """Composite the drawing over a background that is not fully transparent."""
    if background[3] == 0:
        return image
    canvas = _canvas.solid(image.width, image.height, background)
    return _canvas.paste(canvas, image, 0, 0)
