"""color-palette: the dominant colours of a picture (up to eight, clearly distinct)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from app.tools import _canvas
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

SAMPLE_SIZE = 50
STEP = 16  # colours are counted after rounding each channel down to a multiple of this
MIN_DISTANCE = 48  # L1 distance between two kept colours
MAX_COLORS = 8


class ColorPaletteSettings(ToolSettings):
    pass


@tool("color-palette", title="Color palette", category="utilities",
      settings=ColorPaletteSettings, cheap=True,
      description="The most frequent distinct colours of a picture as hex codes.")
@_canvas.vips_errors
def color_palette(ctx: ToolContext, s: ColorPaletteSettings) -> ToolResult:
    image = _canvas.as_srgb(_canvas.thumbnail(ctx.input.path, SAMPLE_SIZE, SAMPLE_SIZE,
                                              size="force"))
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255]).cast("uchar")
    pixels = np.ndarray(buffer=image[0:3].write_to_memory(), dtype=np.uint8,
                        shape=(image.height * image.width, 3))
    colors = palette((pixels // STEP) * STEP)
    return ToolResult(data={"filename": ctx.input.name, "colors": colors, "count": len(colors)})


def palette(quantised: np.ndarray) -> list[str]:
    """The most frequent colours, skipping any within MIN_DISTANCE of one already kept."""
    counts = Counter(map(tuple, quantised.tolist()))
    kept: list[tuple[int, int, int]] = []
    for color, _ in counts.most_common():
        if all(sum(abs(a - b) for a, b in zip(color, other, strict=True)) >= MIN_DISTANCE
               for other in kept):
            kept.append(color)
            if len(kept) == MAX_COLORS:
                break
    return ["#{:02x}{:02x}{:02x}".format(*color) for color in kept]
