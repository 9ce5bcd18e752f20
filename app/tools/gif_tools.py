"""gif-tools: resize, optimise, re-time, reverse, rotate an animated GIF or extract frames.

libvips loads every frame (``n=-1``) as one tall strip with a ``page-height``;
each mode works on that strip frame by frame and writes it back with the
frame delays and loop count.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from app.tools import _canvas, imaging
from app.tools.base import OutputFile, ToolContext, ToolError, ToolResult, ToolSettings, tool

MIN_DELAY_MS = 20
DEFAULT_DELAY_MS = 100
# Formats whose libvips loader reads every frame (n=-1); anything else is one frame.
ANIMATED_MIMES = {"image/gif", "image/webp"}


class GifToolsSettings(ToolSettings):
    mode: Literal["resize", "optimize", "speed", "reverse", "extract", "rotate"] = Field(
        "resize", description="What to do with the animation.")
    width: int | None = Field(None, ge=1, le=16384, description="New frame width (resize).")
    height: int | None = Field(None, ge=1, le=16384, description="New frame height (resize).")
    percentage: float | None = Field(None, ge=1, le=500, description="Scale in percent "
                                                                     "(resize).")
    colors: int = Field(256, ge=2, le=256, description="Palette size.")
    dither: float = Field(1.0, ge=0, le=1, description="Dithering amount.")
    effort: int = Field(7, ge=1, le=10, description="Encoder effort (slower, smaller).")
    speedFactor: float = Field(1.0, ge=0.1, le=10, description="Play this many times faster "
                                                               "(speed).")
    extractMode: Literal["single", "range", "all"] = Field("single", description="Frames to "
                                                                                 "extract.")
    frameNumber: int = Field(0, ge=0, description="Frame to extract (from 0).")
    frameStart: int = Field(0, ge=0, description="First frame of the range (from 0).")
    frameEnd: int | None = Field(None, ge=0, description="Last frame of the range "
                                                         "(default: the last).")
    extractFormat: Literal["png", "webp"] = Field("png", description="Format of extracted "
                                                                     "frames.")
    angle: Literal[90, 180, 270] | None = Field(None, description="Clockwise rotation "
                                                                  "(rotate).")
    flipH: bool = Field(False, description="Mirror left to right (rotate).")
    flipV: bool = Field(False, description="Mirror top to bottom (rotate).")
    loop: int = Field(0, ge=0, le=100, description="Times to play (0: forever).")

    @model_validator(mode="after")
    def _mode_needs(self) -> GifToolsSettings:
        if self.mode == "resize" and self.width is None and self.height is None \
                and self.percentage is None:
            raise ValueError("resize needs a width, a height or a percentage")
        if self.frameEnd is not None and self.frameEnd < self.frameStart:
            raise ValueError("frameEnd must not be before frameStart")
        return self


@dataclass
class Animation:
    frames: list[Any]  # one libvips image per frame
    delays: list[int]  # milliseconds


@tool("gif-tools", title="GIF tools", category="format", settings=GifToolsSettings,
      pipeline=True, description="Resize, optimise, speed up, reverse or rotate an animated "
                                 "GIF, or extract its frames.")
@_canvas.vips_errors
def gif_tools(ctx: ToolContext, s: GifToolsSettings) -> ToolResult:
    animation = load_animation(ctx)
    if s.mode == "extract":
        return extract(ctx, animation, s)
    ctx.progress(0.2, s.mode)
    animation = TRANSFORMS[s.mode](ctx, animation, s)
    ctx.progress(0.6, "encoding")
    path = ctx.output(f"{imaging.stem(ctx.input.name)}_gif-tools.gif")
    write_gif(animation, path, s)
    first = animation.frames[0]
    return ToolResult(files=[OutputFile(path, path.name, "image/gif")],
                      data={"width": first.width, "height": first.height,
                            "frames": len(animation.frames), "delay": animation.delays})


def load_animation(ctx: ToolContext) -> Animation:
    strip = imaging.load(ctx.input, animated=ctx.input.mime in ANIMATED_MIMES)
    page = strip.get_page_height()
    count = strip.height // page
    fields = set(strip.get_fields())
    delays = list(strip.get("delay")) if "delay" in fields else []
    if len(delays) != count:
        delays = [DEFAULT_DELAY_MS] * count
    frames = [strip.crop(0, i * page, strip.width, page) for i in range(count)]
    return Animation(frames, [max(MIN_DELAY_MS, d) for d in delays])


def resize(ctx: ToolContext, animation: Animation, s: GifToolsSettings) -> Animation:
    first = animation.frames[0]
    if s.percentage is not None:
        scale_x = scale_y = s.percentage / 100
    elif s.width is not None and s.height is not None:
        scale_x, scale_y = s.width / first.width, s.height / first.height
    else:
        scale_x = scale_y = (s.width / first.width) if s.width is not None \
            else (s.height or 0) / first.height
    width, height = round(first.width * scale_x), round(first.height * scale_y)
    ctx.check_canvas(width, height * len(animation.frames))
    frames = [frame.resize(scale_x, vscale=scale_y, kernel="lanczos3")
              .crop(0, 0, width, height) for frame in animation.frames]
    return Animation(frames, animation.delays)


def optimize(ctx: ToolContext, animation: Animation, s: GifToolsSettings) -> Animation:
    return animation  # the palette size, dither and effort apply when writing


def speed(ctx: ToolContext, animation: Animation, s: GifToolsSettings) -> Animation:
    delays = [max(MIN_DELAY_MS, round(d / s.speedFactor)) for d in animation.delays]
    return Animation(animation.frames, delays)


def reverse(ctx: ToolContext, animation: Animation, s: GifToolsSettings) -> Animation:
    return Animation(animation.frames[::-1], animation.delays[::-1])


def rotate(ctx: ToolContext, animation: Animation, s: GifToolsSettings) -> Animation:
    frames = []
    for frame in animation.frames:
        if s.angle is not None:
            frame = frame.rot(f"d{s.angle}")
        if s.flipH:
            frame = frame.fliphor()
        if s.flipV:
            frame = frame.flipver()
        frames.append(frame)
    return Animation(frames, animation.delays)


TRANSFORMS = {"resize": resize, "optimize": optimize, "speed": speed, "reverse": reverse,
              "rotate": rotate}


def write_gif(animation: Animation, path: Path, s: GifToolsSettings) -> None:
    pyvips = imaging.vips()
    frames = [_canvas.as_srgb_alpha(frame) for frame in animation.frames]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", animation.delays)
    strip.set_type(pyvips.GValue.gint_type, "loop", s.loop)
    bitdepth = max(1, math.ceil(math.log2(s.colors)))
    imaging.write(strip, path, "gif", dither=s.dither, effort=s.effort, bitdepth=bitdepth)


def extract(ctx: ToolContext, animation: Animation, s: GifToolsSettings) -> ToolResult:
    count = len(animation.frames)
    numbers = frame_numbers(s, count)
    base = imaging.stem(ctx.input.name)
    if s.extractMode == "single":
        out = imaging.save(ctx, animation.frames[numbers[0]], f"{base}_frame{numbers[0]}",
                           s.extractFormat)
        return ToolResult(files=[out], data={"frames": 1, "totalFrames": count})
    path = ctx.output(f"{base}_frames.zip")
    written = _canvas.write_zip(path, frame_files(ctx, animation, numbers, base, s))
    return ToolResult(files=[OutputFile(path, path.name, "application/zip")],
                      data={"frames": written, "totalFrames": count})


def frame_numbers(s: GifToolsSettings, count: int) -> list[int]:
    if s.extractMode == "single":
        if s.frameNumber >= count:
            raise ToolError(f"frameNumber {s.frameNumber} does not exist: the animation has "
                            f"{count} frame(s), numbered from 0")
        return [s.frameNumber]
    if s.extractMode == "all":
        return list(range(count))
    end = count - 1 if s.frameEnd is None else s.frameEnd
    if s.frameStart >= count or end >= count:
        raise ToolError(f"frames {s.frameStart}–{end} do not exist: the animation has "
                        f"{count} frame(s), numbered from 0")
    return list(range(s.frameStart, end + 1))


def frame_files(ctx: ToolContext, animation: Animation, numbers: list[int], base: str,
                s: GifToolsSettings) -> Iterator[tuple[str, Path]]:
    width = len(str(len(animation.frames) - 1))
    for position, number in enumerate(numbers):
        ctx.progress(position / len(numbers), f"frame {number}")
        name = f"{base}_frame{number:0{width}d}.{s.extractFormat}"
        path = ctx.output(f"tmp_{name}")
        imaging.write(animation.frames[number], path, s.extractFormat)
        yield name, path
