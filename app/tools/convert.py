"""convert: write the picture in another format."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

Format = Literal["jpg", "png", "webp", "avif", "tiff", "gif", "heic", "heif"]


class ConvertSettings(ToolSettings):
    format: Format = Field(description="The format to write.")
    quality: int | None = Field(None, ge=1, le=100,
                                description="Quality for lossy formats (1–100).")


@tool("convert", title="Convert", category="essentials", settings=ConvertSettings,
      pipeline=True, description="Convert between JPEG, PNG, WebP, AVIF, TIFF, GIF and HEIC.")
def convert(ctx: ToolContext, s: ConvertSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    ctx.progress(0.3, f"encoding {s.format.upper()}")
    out = imaging.save(ctx, image, imaging.renamed(ctx.input.name, s.format, "convert"), s.format,
                       quality=s.quality)
    return ToolResult(files=[out], data={"format": s.format})
