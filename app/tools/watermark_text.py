"""watermark-text: semi-transparent text in a corner, the centre, or tiled over the picture."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from app.tools import fonts, imaging
from app.tools.base import PX, ToolContext, ToolResult, ToolSettings, tool
from app.tools.rotate import rotated_size

MAX_TILES = 500
Position = Literal["center", "top-left", "top-right", "bottom-left", "bottom-right", "tiled"]


class WatermarkTextSettings(ToolSettings):
    text: str = Field(min_length=1, max_length=500, description="The watermark text.")
    fontSize: float = Field(48, ge=8, le=1000, json_schema_extra=PX,
                            description="Font size in pixels.")
    color: str = Field("#000000", pattern=imaging.HEX6, description="Text colour.")
    opacity: float = Field(50, ge=0, le=100, description="Opacity in percent.")
    position: Position = Field("center", description="Where to put it; tiled repeats it.")
    rotation: float = Field(0, ge=-360, le=360, description="Clockwise rotation in degrees.")

    preview_floor: ClassVar[dict[str, float]] = {"fontSize": 6}


def anchor(position: str, canvas: tuple[int, int], item: tuple[int, int],
           margin: int) -> tuple[int, int]:
    """Top-left corner of ``item`` placed at ``position`` on ``canvas``."""
    (cw, ch), (iw, ih) = canvas, item
    x = {"left": margin, "right": cw - iw - margin}.get(position.split("-")[-1], (cw - iw) // 2)
    y = {"top": margin, "bottom": ch - ih - margin}.get(position.split("-")[0], (ch - ih) // 2)
    return x, y


def tile_positions(canvas: tuple[int, int], step: tuple[int, int]) -> list[tuple[int, int]]:
    """A grid of positions covering the canvas, at most MAX_TILES of them."""
    xs = range(0, canvas[0], max(1, step[0]))
    ys = range(0, canvas[1], max(1, step[1]))
    return [(x, y) for y in ys for x in xs][:MAX_TILES]


def overlay(base: Any, layer: Any, positions: list[tuple[int, int]]) -> Any:
    """``layer`` composited over ``base`` at each position (parts off the canvas are cut)."""
    base = imaging.to_srgb8(base)
    alpha = base.hasalpha()
    if not alpha:
        base = base.bandjoin(255)
    result = base.composite([layer] * len(positions), "over",
                            x=[p[0] for p in positions], y=[p[1] for p in positions])
    result = result.cast("uchar").copy(interpretation="srgb")
    return result if alpha else result[0:3]


def text_layer(ctx: ToolContext, s: WatermarkTextSettings, wrap: int | None) -> Any:
    """The coloured, rotated text as an RGBA image (canvas checked before rendering)."""
    width, height = fonts.estimate_size(s.text, s.fontSize)
    if wrap is not None:
        width = min(width, wrap)
    ctx.check_canvas(*rotated_size(round(width), round(height), s.rotation))
    mask = fonts.text_mask(s.text, round(s.fontSize), wrap=wrap)
    if s.rotation % 360:
        mask = mask.rotate(s.rotation, background=[0])
    return fonts.colour_layer(mask, imaging.hex_rgb(s.color), s.opacity / 100)


@tool("watermark-text", title="Text watermark", category="watermark",
      settings=WatermarkTextSettings, pipeline=True, cheap=True,
      description="Stamp semi-transparent text on the picture, once or tiled.")
def watermark_text(ctx: ToolContext, s: WatermarkTextSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    tiled = s.position == "tiled"
    layer = text_layer(ctx, s, None if tiled else image.width)
    if tiled:
        step = (round(s.fontSize * 6), round(s.fontSize * 4))
        positions = tile_positions((image.width, image.height), step)
    else:
        margin = max(10, round(s.fontSize / 2))
        positions = [anchor(s.position, (image.width, image.height),
                            (layer.width, layer.height), margin)]
    result = overlay(image, layer, positions)
    out = imaging.save(ctx, result, f"{imaging.stem(ctx.input.name)}_watermark-text", "png")
    return ToolResult(files=[out], data={"copies": len(positions)})
