"""compress: re-encode at a quality, or find the quality that meets a target size."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from app.tools import imaging
from app.tools.base import OutputFile, ToolContext, ToolResult, ToolSettings, tool

MAX_PASSES = 8
TOLERANCE = 0.05
DEFAULT_QUALITY = 80


class CompressSettings(ToolSettings):
    mode: Literal["quality", "targetSize"] = Field(
        "quality", description="Compress at a quality, or search for a target file size.")
    quality: int | None = Field(None, ge=1, le=100,
                                description="Quality 1–100 (80 when not given).")
    targetSizeKb: float | None = Field(None, gt=0,
                                       description="Target file size in kilobytes.")

    @model_validator(mode="after")
    def _target_needs_size(self) -> CompressSettings:
        if self.mode == "targetSize" and self.targetSizeKb is None:
            raise ValueError("targetSize mode needs targetSizeKb")
        return self


def _options(ext: str, quality: int) -> dict[str, Any]:
    """Encoder options at ``quality``; PNG and GIF quantise their palette instead."""
    if ext == "png":
        return {"palette": True, "Q": quality, "compression": 9}
    if ext == "gif":
        return {"bitdepth": max(1, min(8, round(quality / 12.5)))}
    if ext == "tiff":
        return {"quality": quality, "compression": "jpeg"}
    return {"quality": quality}


def encode_at(image: Any, ext: str, quality: int) -> bytes:
    return imaging.encode(image, ext, **_options(ext, quality))


def search_quality(image: Any, ext: str, target: int,
                   progress: Any = None) -> tuple[int, bytes, int]:
    """Binary search over quality: (quality, bytes, passes) closest to ``target`` bytes.

    Stops early once a result is within 5 % of the target; otherwise keeps the
    largest result that is not over the target (or the smallest one seen).
    """
    low, high = 1, 100
    best: tuple[int, bytes] | None = None
    smallest: tuple[int, bytes] | None = None
    passes = 0
    while low <= high and passes < MAX_PASSES:
        quality = (low + high) // 2
        data = encode_at(image, ext, quality)
        passes += 1
        if progress is not None:
            progress(passes / MAX_PASSES, f"quality {quality}: {len(data) // 1024} KB")
        if smallest is None or len(data) < len(smallest[1]):
            smallest = (quality, data)
        if abs(len(data) - target) <= target * TOLERANCE:
            return quality, data, passes
        if len(data) > target:
            high = quality - 1
        else:
            best = (quality, data) if best is None or len(data) > len(best[1]) else best
            low = quality + 1
    chosen = best or smallest
    assert chosen is not None
    return chosen[0], chosen[1], passes


@tool("compress", title="Compress", category="essentials", settings=CompressSettings,
      pipeline=True, description="Make the file smaller at a quality or down to a target size.")
def compress(ctx: ToolContext, s: CompressSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    ext = imaging.output_ext(ctx.input)
    data: dict[str, Any] = {"originalSize": ctx.input.path.stat().st_size}
    if s.mode == "targetSize" and s.targetSizeKb is not None:
        target = round(s.targetSizeKb * 1024)
        quality, encoded, passes = search_quality(image, ext, target, ctx.progress)
        data.update(targetSize=target, passes=passes)
    else:
        quality = s.quality if s.quality is not None else DEFAULT_QUALITY
        encoded = encode_at(image, ext, quality)
    path = ctx.output(f"{imaging.stem(ctx.input.name)}_compress.{ext}")
    path.write_bytes(encoded)
    data.update(quality=quality, processedSize=len(encoded))
    return ToolResult(files=[OutputFile(path, path.name, imaging.MIME_BY_EXT[ext])],
                      data=data)
