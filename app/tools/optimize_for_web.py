"""optimize-for-web: shrink to a maximum size and encode for the web."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

_EXT = {"webp": "webp", "jpeg": "jpg", "avif": "avif", "png": "png"}


class OptimizeForWebSettings(ToolSettings):
    format: Literal["webp", "jpeg", "avif", "png"] = Field("webp", description="Output format.")
    quality: int = Field(80, ge=1, le=100, description="Quality 1–100.")
    maxWidth: float | None = Field(None, gt=0, description="Shrink to at most this width.")
    maxHeight: float | None = Field(None, gt=0, description="Shrink to at most this height.")
    progressive: bool = Field(True, description="Progressive (interlaced) JPEG and PNG.")
    stripMetadata: bool = Field(True, description="Drop EXIF, XMP, IPTC and ICC metadata.")


def shrink(image: Any, max_width: float | None, max_height: float | None) -> Any:
    """Fit inside the maxima, never enlarging."""
    scale = min(1.0, (max_width or image.width) / image.width,
                (max_height or image.height) / image.height)
    return image.resize(scale, kernel="lanczos3") if scale < 1 else image


def encoder_options(fmt: str, s: OptimizeForWebSettings) -> dict[str, Any]:
    if fmt == "jpeg":
        return {"quality": s.quality, "interlace": s.progressive, "optimize_coding": True,
                "trellis_quant": True, "overshoot_deringing": True,
                "optimize_scans": s.progressive}
    if fmt == "png":
        return {"compression": 9, "palette": True, "Q": s.quality, "interlace": s.progressive}
    return {"quality": s.quality, "effort": 4}


@tool("optimize-for-web", title="Optimize for web", category="optimization",
      settings=OptimizeForWebSettings, pipeline=True, cheap=True,
      description="Resize within limits and encode as WebP, JPEG, AVIF or PNG for the web.")
def optimize_for_web(ctx: ToolContext, s: OptimizeForWebSettings) -> ToolResult:
    image = shrink(imaging.load(ctx.input), s.maxWidth, s.maxHeight)
    ext = _EXT[s.format]
    ctx.progress(0.4, f"encoding {s.format.upper()}")
    out = imaging.save(ctx, image, imaging.renamed(ctx.input.name, ext, "optimize-for-web"), ext,
                       strip=s.stripMetadata, **encoder_options(s.format, s))
    data = {"originalSize": ctx.input.path.stat().st_size, "processedSize": out.path.stat().st_size,
            "width": image.width, "height": image.height}
    return ToolResult(files=[out], data=data)
