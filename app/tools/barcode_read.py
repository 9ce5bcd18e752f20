"""barcode-read: find and decode every barcode and QR code in a picture (zxing-cpp)."""

from __future__ import annotations

from typing import Any

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont
from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import OutputFile, ToolContext, ToolResult, ToolSettings, tool

OUTLINE = (255, 0, 80)
CORNERS = ("topLeft", "topRight", "bottomRight", "bottomLeft")


class BarcodeReadSettings(ToolSettings):
    tryHarder: bool = Field(True, description="Also look for rotated, inverted and small codes "
                                              "(slower).")


@tool("barcode-read", title="Read barcodes", category="utilities", settings=BarcodeReadSettings,
      description="Decode the barcodes and QR codes in a picture; outline them on a copy.")
@_canvas.vips_errors
def barcode_read(ctx: ToolContext, s: BarcodeReadSettings) -> ToolResult:
    image = _canvas.as_srgb(imaging.load(ctx.input))
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255]).cast("uchar")
    pixels = np.ndarray(buffer=image[0:3].write_to_memory(), dtype=np.uint8,
                        shape=(image.height, image.width, 3))
    ctx.progress(0.3, "looking for codes")
    found = zxingcpp.read_barcodes(Image.fromarray(pixels), try_rotate=s.tryHarder,
                                   try_downscale=s.tryHarder, try_invert=s.tryHarder)
    barcodes = [describe(code) for code in found]
    ctx.progress(0.8, "drawing outlines")
    annotated = annotate(Image.fromarray(pixels), barcodes)
    path = ctx.output(f"{imaging.stem(ctx.input.name)}_annotated.png")
    annotated.save(path, format="PNG")
    return ToolResult(files=[OutputFile(path, path.name, "image/png")], illustrative=True,
                      data={"filename": ctx.input.name, "barcodes": barcodes})


def describe(code: Any) -> dict[str, Any]:
    position = code.position
    points = (position.top_left, position.top_right, position.bottom_right,
              position.bottom_left)
    return {"type": code.format.name, "text": code.text,
            "position": {name: {"x": p.x, "y": p.y}
                         for name, p in zip(CORNERS, points, strict=True)}}


def annotate(picture: Image.Image, barcodes: list[dict[str, Any]]) -> Image.Image:
    """The picture with each code's outline and its number (1, 2 ...) drawn on it."""
    draw = ImageDraw.Draw(picture)
    line = max(2, min(picture.size) // 200)
    font = ImageFont.load_default(size=max(12, min(picture.size) // 25))
    for number, code in enumerate(barcodes, start=1):
        corners = [(code["position"][c]["x"], code["position"][c]["y"]) for c in CORNERS]
        draw.polygon(corners, outline=OUTLINE, width=line)
        x, y = corners[0]
        draw.text((x + line, y + line), str(number), fill=OUTLINE, font=font)
    return picture
