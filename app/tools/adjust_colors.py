"""adjust-colors: brightness, contrast, exposure, saturation, hue, white balance, channels,
sharpness and effects (also reached as brightness-contrast, saturation, color-channels and
color-effects, ashim's older ids)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]


def _level(description: str) -> Any:
    return Field(0, ge=-100, le=100, description=description)


def _channel(name: str) -> Any:
    return Field(100, ge=0, le=200, description=f"{name} channel, percent of its value.")


class AdjustColorsSettings(ToolSettings):
    brightness: float = _level("Brighter (+) or darker (−).")
    contrast: float = _level("More (+) or less (−) contrast.")
    exposure: float = _level("Exposure: a gamma curve, lifting (+) or lowering (−) mid-tones.")
    saturation: float = _level("More (+) or less (−) colour.")
    temperature: float = _level("Warmer (+) or cooler (−).")
    tint: float = _level("Magenta (+) or green (−).")
    hue: float = Field(0, ge=-180, le=180, description="Rotate hues by degrees.")
    sharpness: float = Field(0, ge=0, le=100, description="Sharpen (0 = off).")
    red: float = _channel("Red")
    green: float = _channel("Green")
    blue: float = _channel("Blue")
    effect: Literal["none", "grayscale", "sepia", "invert"] = Field(
        "none", description="A colour effect applied last.")


def channel_gains(s: AdjustColorsSettings) -> list[float]:
    """Per-channel multipliers: the channel sliders, white balance and brightness together."""
    warm, magenta = s.temperature / 100, s.tint / 100
    brightness = 1 + s.brightness / 100
    return [s.red / 100 * (1 + 0.3 * warm) * (1 + 0.15 * magenta) * brightness,
            s.green / 100 * (1 - 0.3 * magenta) * brightness,
            s.blue / 100 * (1 - 0.3 * warm) * (1 + 0.15 * magenta) * brightness]


def tone(rgb: Any, s: AdjustColorsSettings) -> Any:
    """Gains, contrast and exposure on float RGB; returns 8-bit RGB."""
    gains = channel_gains(s)
    if gains != [1.0, 1.0, 1.0]:
        rgb = rgb * gains
    if s.contrast:
        slope = 1 + s.contrast / 100
        rgb = rgb * slope + 128 * (1 - slope)
    if s.exposure:
        gamma = 1 + abs(s.exposure) / 100 * 2
        power = 1 / gamma if s.exposure > 0 else gamma
        rgb = ((rgb.cast("uchar").cast("float") / 255) ** power) * 255
    return rgb.cast("uchar").copy(interpretation="srgb")


def colourfulness(rgb: Any, s: AdjustColorsSettings) -> Any:
    if not s.saturation and not s.hue:
        return rgb
    lch = rgb.colourspace("lch")
    chroma = lch[1] * (1 + s.saturation / 100)
    hue = (lch[2] + s.hue + 360) % 360
    return lch[0].bandjoin([chroma, hue]).copy(interpretation="lch").colourspace("srgb")


def effect(rgb: Any, name: str) -> Any:
    if name == "grayscale":
        grey = rgb.colourspace("b-w")
        return grey.bandjoin([grey, grey]).copy(interpretation="srgb")
    if name == "sepia":
        return rgb.recomb(SEPIA).cast("uchar").copy(interpretation="srgb")
    if name == "invert":
        return rgb.invert()
    return rgb


def adjust(image: Any, s: AdjustColorsSettings) -> Any:
    image = imaging.to_srgb8(image)
    alpha = image[3] if image.hasalpha() else None
    rgb = image[0:3]
    if channel_gains(s) != [1.0, 1.0, 1.0] or s.contrast or s.exposure:
        rgb = tone(rgb.cast("float"), s)
    rgb = effect(colourfulness(rgb, s), s.effect)
    if s.sharpness:
        rgb = rgb.sharpen(sigma=0.5 + s.sharpness / 100 * 9.5).colourspace("srgb")
    return rgb if alpha is None else rgb.bandjoin(alpha)


@tool("adjust-colors", title="Adjust colours", category="adjustments",
      settings=AdjustColorsSettings, pipeline=True, cheap=True,
      aliases=("brightness-contrast", "saturation", "color-channels", "color-effects"),
      description="Brightness, contrast, exposure, saturation, hue, temperature, channels "
                  "and colour effects.")
def adjust_colors(ctx: ToolContext, s: AdjustColorsSettings) -> ToolResult:
    image = adjust(imaging.load(ctx.input), s)
    out = imaging.save(ctx, image, f"{imaging.stem(ctx.input.name)}_adjust-colors",
                       imaging.output_ext(ctx.input))
    return ToolResult(files=[out])
