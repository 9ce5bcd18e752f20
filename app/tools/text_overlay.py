"""text-overlay: a caption across the top, centre or bottom, with an optional box and shadow."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from app.tools import fonts, imaging
from app.tools.base import PX, ToolContext, ToolResult, ToolSettings, tool
from app.tools.watermark_text import overlay

BOX_OPACITY = 0.7
SHADOW_OPACITY = 0.6


class TextOverlaySettings(ToolSettings):
    text: str = Field(min_length=1, max_length=500, description="The caption.")
    fontSize: float = Field(48, ge=8, le=200, json_schema_extra=PX,
                            description="Font size in pixels.")
    color: str = Field("#FFFFFF", pattern=imaging.HEX6, description="Text colour.")
    position: Literal["top", "center", "bottom"] = Field("bottom", description="Where.")
    backgroundBox: bool = Field(False, description="Put a full-width box behind the text.")
    backgroundColor: str = Field("#000000", pattern=imaging.HEX6, description="Box colour.")
    shadow: bool = Field(True, description="Drop a soft shadow under the text.")

    preview_floor: ClassVar[dict[str, float]] = {"fontSize": 6}


def band_top(position: str, canvas_h: int, band_h: int) -> int:
    return {"top": 0, "bottom": canvas_h - band_h}.get(position, (canvas_h - band_h) // 2)


def caption_layers(width: int, mask: Any, s: TextOverlaySettings) -> list[tuple[Any, int, int]]:
    """(layer, x, y) in a band as wide as the picture: box, shadow, text."""
    pad = round(s.fontSize / 2)
    band_h = mask.height + 2 * pad
    text_x = max(0, (width - mask.width) // 2)
    layers: list[tuple[Any, int, int]] = []
    if s.backgroundBox:
        box = mask.new_from_image(255).embed(0, 0, 1, 1).resize(width, vscale=band_h,
                                                                kernel="nearest")
        layers.append((fonts.colour_layer(box, imaging.hex_rgb(s.backgroundColor),
                                          BOX_OPACITY), 0, 0))
    if s.shadow:
        offset = max(2, round(s.fontSize / 24))
        soft = mask.embed(offset, offset, mask.width + 2 * offset, mask.height + 2 * offset)
        soft = soft.gaussblur(max(0.5, s.fontSize / 40))
        layers.append((fonts.colour_layer(soft.cast("uchar"), [0, 0, 0], SHADOW_OPACITY),
                       text_x, pad))
    layers.append((fonts.colour_layer(mask, imaging.hex_rgb(s.color), 1.0), text_x, pad))
    return layers


@tool("text-overlay", title="Text overlay", category="watermark",
      settings=TextOverlaySettings, pipeline=True, cheap=True,
      description="Write a caption across the top, centre or bottom of the picture.")
def text_overlay(ctx: ToolContext, s: TextOverlaySettings) -> ToolResult:
    image = imaging.load(ctx.input)
    pad = round(s.fontSize / 2)
    width, height = fonts.estimate_size(s.text, s.fontSize)
    ctx.check_canvas(min(width, image.width), height)
    mask = fonts.text_mask(s.text, round(s.fontSize), wrap=max(1, image.width - 2 * pad))
    top = band_top(s.position, image.height, mask.height + 2 * pad)
    result = image
    for layer, x, y in caption_layers(image.width, mask, s):
        result = overlay(result, layer, [(x, top + y)])
    out = imaging.save(ctx, result, f"{imaging.stem(ctx.input.name)}_text-overlay",
                       imaging.output_ext(ctx.input))
    return ToolResult(files=[out], data={"top": top, "textWidth": mask.width,
                                         "textHeight": mask.height})
