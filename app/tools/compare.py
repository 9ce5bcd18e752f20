"""compare: how similar two pictures are, with a diff picture marking what changed."""

from __future__ import annotations

from typing import Any

from app.tools import _canvas, imaging
from app.tools.base import InputSpec, OutputFile, ToolContext, ToolResult, ToolSettings, tool

# Pixels whose mean RGB difference exceeds this are painted red in diff.png.
DIFF_THRESHOLD = 10


class CompareSettings(ToolSettings):
    pass


@tool("compare", title="Compare", category="utilities", settings=CompareSettings,
      inputs=InputSpec(min_files=2, max_files=2),
      description="Similarity of two pictures (0–100) and a diff picture with changes in red.")
@_canvas.vips_errors
def compare(ctx: ToolContext, s: CompareSettings) -> ToolResult:
    first, second = (flat_rgb(imaging.load(source)) for source in ctx.inputs)
    width, height = max(first.width, second.width), max(first.height, second.height)
    ctx.check_canvas(width, height)
    first, second = stretch(first, width, height), stretch(second, width, height)
    ctx.progress(0.4, "comparing")
    difference = (first.cast("int") - second.cast("int")).abs().bandmean()
    mean = difference.avg()
    similarity = round(100 * (1 - mean / 255), 2)
    changed = difference > DIFF_THRESHOLD
    changed_share = changed.avg() / 255
    # Unchanged pixels: the first picture, faded; changed pixels: pure red.
    faded = (first * 0.4 + 153).cast("uchar")
    red = _canvas.solid(width, height, [255, 0, 0]).cast("uchar")
    diff = changed.ifthenelse(red, faded).copy(interpretation="srgb")
    path = ctx.output("diff.png")
    imaging.write(diff, path, "png")
    return ToolResult(files=[OutputFile(path, path.name, "image/png")], illustrative=True,
                      data={"similarity": similarity,
                            "dimensions": {"width": width, "height": height},
                            "changedPercent": round(100 * changed_share, 2),
                            "identical": mean == 0})


def flat_rgb(image: Any) -> Any:
    """Three 8-bit sRGB bands, transparency flattened onto white."""
    image = _canvas.as_srgb(image)
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255]).cast("uchar")
    return image[0:3].copy(interpretation="srgb")


def stretch(image: Any, width: int, height: int) -> Any:
    if (image.width, image.height) == (width, height):
        return image
    return image.resize(width / image.width, vscale=height / image.height)
