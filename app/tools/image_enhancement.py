"""image-enhancement: automatic corrections from the picture's own statistics (no model).

The picture is measured once on a small copy (mean brightness, 1st and 99th
percentiles, channel means, colourfulness, noise); each correction is then
scaled by ``intensity`` and by the mode's weight for it.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

Mode = Literal["auto", "portrait", "landscape", "low-light", "food", "document"]
CORRECTIONS = ("exposure", "contrast", "whiteBalance", "saturation", "sharpness", "denoise")
# Per mode, the weight of each correction (in CORRECTIONS order).
MODE_WEIGHTS: dict[str, tuple[float, ...]] = {
    "auto": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "portrait": (1.0, 0.7, 1.0, 0.8, 0.5, 1.2),
    "landscape": (1.0, 1.2, 1.0, 1.3, 1.2, 0.8),
    "low-light": (1.6, 0.8, 1.0, 1.0, 0.6, 1.6),
    "food": (1.0, 1.1, 0.8, 1.4, 1.0, 0.8),
    "document": (1.2, 1.6, 1.2, 0.0, 1.3, 1.0),
}
TARGET_MEAN = {"low-light": 0.5}
NOISE_LIMIT = 2.5


class Corrections(ToolSettings):
    exposure: bool = Field(True, description="Correct the overall brightness.")
    contrast: bool = Field(True, description="Stretch the tonal range.")
    whiteBalance: bool = Field(True, description="Remove a colour cast.")
    saturation: bool = Field(True, description="Bring dull colours to life.")
    sharpness: bool = Field(True, description="Sharpen a little.")
    denoise: bool = Field(True, description="Smooth visible noise.")


class ImageEnhancementSettings(ToolSettings):
    mode: Mode = Field("auto", description="What kind of picture this is.")
    intensity: float = Field(50, ge=0, le=100, description="How strongly to correct.")
    corrections: Corrections = Field(default_factory=lambda: Corrections.model_validate({}),
                                     description="Which corrections to make.")


def analyse(rgb: Any) -> dict[str, Any]:
    """Statistics of the picture (measured on a copy at most 512 pixels wide)."""
    small = rgb.resize(min(1.0, 512 / max(rgb.width, rgb.height)))
    lum = small.colourspace("b-w")[0]
    chroma = small.colourspace("lch")[1]
    noise = (lum.cast("float") - lum.median(3)).abs().avg()
    return {"mean": lum.avg() / 255, "low": lum.percent(1), "high": lum.percent(99),
            "channels": [small[band].avg() for band in range(3)],
            "chroma": chroma.avg(), "noise": noise}


def weights(s: ImageEnhancementSettings) -> dict[str, float]:
    """Each correction's final strength: 0 when off, else intensity × the mode's weight."""
    base = s.intensity / 100
    chosen = s.corrections.model_dump()
    return {name: base * weight if chosen[name] else 0.0
            for name, weight in zip(CORRECTIONS, MODE_WEIGHTS[s.mode], strict=True)}


def exposure_gamma(mean: float, target: float, strength: float) -> float:
    if strength <= 0 or not 0.01 < mean < 0.99:
        return 1.0
    gamma = min(2.5, max(0.4, math.log(target) / math.log(mean)))
    return 1 + (gamma - 1) * min(1.0, strength)


def balance_gains(channels: list[float], strength: float) -> list[float]:
    grey = sum(channels) / 3
    gains = [min(1.4, max(0.7, grey / max(value, 1.0))) for value in channels]
    return [1 + (gain - 1) * min(1.0, strength) for gain in gains]


def tonal(rgb: Any, stats: dict[str, Any], w: dict[str, float], target: float) -> Any:
    """White balance, a levels stretch, then exposure on float RGB, back to 8 bits."""
    rgb = rgb.cast("float")
    if w["whiteBalance"]:
        rgb = rgb * balance_gains(stats["channels"], w["whiteBalance"])
    mean = stats["mean"]
    if w["contrast"] and stats["high"] - stats["low"] >= 10:
        strength = min(1.0, w["contrast"])
        low, high = stats["low"] * strength, 255 - (255 - stats["high"]) * strength
        rgb = (rgb - low) * (255 / max(high - low, 1.0))
        mean = min(1.0, max(0.0, (mean * 255 - low) / max(high - low, 1.0)))
    gamma = exposure_gamma(mean, target, w["exposure"])
    if gamma != 1.0:
        rgb = ((rgb.cast("uchar").cast("float") / 255) ** gamma) * 255
    return rgb.cast("uchar").copy(interpretation="srgb")


def colour_and_detail(rgb: Any, stats: dict[str, Any], w: dict[str, float]) -> Any:
    if w["saturation"]:
        boost = 0.5 * max(0.0, 30 - stats["chroma"]) / 30 + 0.1
        lch = rgb.colourspace("lch")
        chroma = lch[1] * (1 + boost * w["saturation"])
        rgb = lch[0].bandjoin([chroma, lch[2]]).copy(interpretation="lch").colourspace("srgb")
    if w["sharpness"]:
        rgb = rgb.sharpen(sigma=0.5 + w["sharpness"]).colourspace("srgb")
    return rgb


def enhance(image: Any, s: ImageEnhancementSettings) -> tuple[Any, dict[str, Any]]:
    image = imaging.to_srgb8(image)
    alpha = image[3] if image.hasalpha() else None
    rgb = image[0:3]
    stats, w = analyse(rgb), weights(s)
    if w["denoise"] and stats["noise"] > NOISE_LIMIT:
        rgb = rgb.median(3)
    rgb = tonal(rgb, stats, w, TARGET_MEAN.get(s.mode, 0.45))
    rgb = colour_and_detail(rgb, stats, w)
    result = rgb if alpha is None else rgb.bandjoin(alpha)
    return result, {"analysis": stats, "applied": {k: round(v, 3) for k, v in w.items()}}


@tool("image-enhancement", title="Auto enhance", category="adjustments",
      settings=ImageEnhancementSettings, pipeline=True,
      description="Correct exposure, contrast, white balance, colour, sharpness and noise "
                  "automatically from the picture's statistics.")
def image_enhancement(ctx: ToolContext, s: ImageEnhancementSettings) -> ToolResult:
    ctx.progress(0.2, "measuring")
    image, data = enhance(imaging.load(ctx.input), s)
    out = imaging.save(ctx, image, f"{imaging.stem(ctx.input.name)}_image-enhancement",
                       imaging.output_ext(ctx.input))
    return ToolResult(files=[out], data=data)
