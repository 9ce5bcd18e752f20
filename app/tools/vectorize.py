"""vectorize: trace a picture into an SVG — black and white or in colour (vtracer)."""

from __future__ import annotations

from typing import Any, Literal

import vtracer
from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import OutputFile, ToolContext, ToolError, ToolResult, ToolSettings, tool

# vtracer reads colour precision as significant bits per channel: 1 … 8.
MAX_PRECISION_BITS = 8
PATH_MODES = {"none": "pixel", "polygon": "polygon", "spline": "spline"}


class VectorizeSettings(ToolSettings):
    colorMode: Literal["bw", "color"] = Field("bw", description="Black and white or colour.")
    threshold: int = Field(128, ge=0, le=255, description="Black-and-white cut-off "
                                                          "brightness.")
    colorPrecision: int = Field(6, ge=1, le=16, description="Colour detail (bits per channel; "
                                                            "above 8 counts as 8).")
    layerDifference: int = Field(6, ge=1, le=128, description="Colour difference between "
                                                              "layers.")
    filterSpeckle: int = Field(4, ge=1, le=256, description="Discard patches smaller than "
                                                            "this (pixels).")
    pathMode: Literal["none", "polygon", "spline"] = Field(
        "spline", description="Curve fitting: none (pixels), polygons or smooth splines.")
    cornerThreshold: int = Field(60, ge=0, le=180, description="Angle (degrees) below which a "
                                                               "corner is kept sharp.")
    invert: bool = Field(False, description="Swap black and white (bw mode).")


@tool("vectorize", title="Vectorize", category="format", settings=VectorizeSettings,
      description="Trace a picture into scalable SVG paths.")
@_canvas.vips_errors
def vectorize(ctx: ToolContext, s: VectorizeSettings) -> ToolResult:
    image = _canvas.as_srgb(imaging.load(ctx.input))
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255]).cast("uchar")
    prepared = binarise(image, s) if s.colorMode == "bw" else image[0:3]
    png = bytes(prepared.pngsave_buffer(compression=1))
    ctx.progress(0.2, "tracing")
    try:
        svg = vtracer.convert_raw_image_to_svg(png, img_format="png", **trace_options(s))
    except Exception as exc:  # vtracer raises plain exceptions (or panics) on odd input
        raise ToolError(f"cannot trace this picture: {exc}") from exc
    path = ctx.output(f"{imaging.stem(ctx.input.name)}.svg")
    path.write_text(svg, encoding="utf-8")
    return ToolResult(files=[OutputFile(path, path.name, "image/svg+xml")],
                      data={"paths": svg.count("<path"), "size": len(svg)})


def binarise(image: Any, s: VectorizeSettings) -> Any:
    """Pure black (ink) and white: darker than ``threshold`` is ink unless inverted."""
    grey = image.colourspace("b-w")[0]
    ink = (grey >= s.threshold) if s.invert else (grey < s.threshold)
    return ink.ifthenelse([0, 0, 0], [255, 255, 255]).cast("uchar").copy(interpretation="srgb")


def trace_options(s: VectorizeSettings) -> dict[str, Any]:
    return {
        "colormode": "binary" if s.colorMode == "bw" else "color",
        "hierarchical": "stacked",
        "mode": PATH_MODES[s.pathMode],
        "filter_speckle": s.filterSpeckle,
        "color_precision": min(s.colorPrecision, MAX_PRECISION_BITS),
        "layer_difference": s.layerDifference,
        "corner_threshold": s.cornerThreshold,
        "length_threshold": 4.0,
        "max_iterations": 2,
        "splice_threshold": 45,
        "path_precision": 5,
    }
