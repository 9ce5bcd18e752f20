"""sharpening: libvips' adaptive sharpen, a classic unsharp mask or a high-pass kernel."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.tools import imaging
from app.tools.base import PX, ToolContext, ToolResult, ToolSettings, tool

MEDIAN_SIZE = {"light": 3, "medium": 5, "strong": 7}


class SharpeningSettings(ToolSettings):
    method: Literal["adaptive", "unsharp-mask", "high-pass"] = Field(
        "adaptive", description="Adaptive (libvips sharpen), unsharp mask or high-pass.")
    sigma: float = Field(1.0, ge=0.5, le=10, json_schema_extra=PX,
                         description="Adaptive: blur radius (sigma).")
    m1: float = Field(1.0, ge=0, le=10, description="Adaptive: sharpening of flat areas.")
    m2: float = Field(3.0, ge=0, le=20, description="Adaptive: sharpening of jagged areas.")
    x1: float = Field(2.0, ge=0, le=10, description="Adaptive: flat/jagged threshold.")
    y2: float = Field(12, ge=0, le=50, description="Adaptive: maximum brightening.")
    y3: float = Field(20, ge=0, le=50, description="Adaptive: maximum darkening.")
    amount: float = Field(100, ge=0, le=1000, description="Unsharp mask: strength in percent.")
    radius: float = Field(1.0, ge=0.1, le=5, json_schema_extra=PX,
                          description="Unsharp mask: blur radius.")
    threshold: float = Field(0, ge=0, le=255, description="Unsharp mask: ignore differences "
                                                          "smaller than this.")
    strength: float = Field(50, ge=0, le=100, description="High-pass: strength in percent.")
    kernelSize: Literal[3, 5] = Field(3, description="High-pass: kernel size.")
    denoise: Literal["off", "light", "medium", "strong"] = Field(
        "off", description="Median filter applied before sharpening.")


def adaptive(rgb: Any, s: SharpeningSettings) -> Any:
    return rgb.sharpen(sigma=s.sigma, x1=s.x1, y2=s.y2, y3=s.y3, m1=s.m1,
                       m2=s.m2).colourspace("srgb")


def unsharp_mask(rgb: Any, s: SharpeningSettings) -> Any:
    detail = rgb.cast("float") - rgb.gaussblur(s.radius, precision="float")
    if s.threshold > 0:
        detail = (detail.abs() > s.threshold).ifthenelse(detail, 0)
    return (rgb + detail * (s.amount / 100)).cast("uchar").copy(interpretation="srgb")


def high_pass(rgb: Any, s: SharpeningSettings) -> Any:
    pyvips = imaging.vips()
    size, weight = s.kernelSize, s.strength / 100
    if size == 3:
        kernel = [[0, -weight, 0], [-weight, 1 + 4 * weight, -weight], [0, -weight, 0]]
    else:
        weight /= 6  # 24 neighbours instead of 4: keep a comparable strength
        kernel = [[-weight] * 5 for _ in range(5)]
        kernel[2][2] = 1 + 24 * weight
    mask = pyvips.Image.new_from_array(kernel)
    return rgb.conv(mask, precision="float").cast("uchar").copy(interpretation="srgb")


METHODS = {"adaptive": adaptive, "unsharp-mask": unsharp_mask, "high-pass": high_pass}


def sharpen(image: Any, s: SharpeningSettings) -> Any:
    image = imaging.to_srgb8(image)
    alpha = image[3] if image.hasalpha() else None
    rgb = image[0:3]
    if s.denoise != "off":
        rgb = rgb.median(MEDIAN_SIZE[s.denoise])
    rgb = METHODS[s.method](rgb, s)
    return rgb if alpha is None else rgb.bandjoin(alpha)


@tool("sharpening", title="Sharpen", category="adjustments", settings=SharpeningSettings,
      pipeline=True, cheap=True,
      description="Sharpen with an adaptive filter, an unsharp mask or a high-pass kernel.")
def sharpening(ctx: ToolContext, s: SharpeningSettings) -> ToolResult:
    image = sharpen(imaging.load(ctx.input), s)
    out = imaging.save(ctx, image, f"{imaging.stem(ctx.input.name)}_sharpening",
                       imaging.output_ext(ctx.input))
    return ToolResult(files=[out])
