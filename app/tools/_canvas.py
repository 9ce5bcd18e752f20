"""Small pixel helpers shared by the layout and format tools (not a tool itself).

Colours arrive as ashim's hex strings; canvases are libvips images built
lazily (a constant image costs nothing until it is written); rounded corners
are a librsvg-rendered rectangle used as an alpha mask; ZIP outputs are
written member by member from files in the work folder.
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolError, ToolResult

Process = Callable[[ToolContext, Any], ToolResult]

Hex6 = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
Hex6to8 = Annotated[str, Field(pattern=r"^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")]

# ashim names formats "jpeg"; our savers and MIME maps use the extension "jpg".
EXT = {"jpeg": "jpg", "jpg": "jpg", "png": "png", "webp": "webp", "avif": "avif",
       "tiff": "tiff", "gif": "gif", "heic": "heic", "heif": "heif"}


def rgb(color: str) -> list[float]:
    """``"#FF8000"`` → ``[255, 128, 0]``."""
    return [float(int(color[i:i + 2], 16)) for i in (1, 3, 5)]


def rgba(color: str) -> list[float]:
    """``"#FF800080"`` → ``[255, 128, 0, 128]``; six digits are opaque."""
    alpha = float(int(color[7:9], 16)) if len(color) == 9 else 255.0
    return [*rgb(color), alpha]


def solid(width: int, height: int, color: list[float]) -> Any:
    """A constant sRGB(A) canvas of ``len(color)`` bands."""
    pyvips = imaging.vips()
    base = pyvips.Image.black(width, height)
    return base.new_from_image(color).copy(interpretation="srgb")


def as_srgb_alpha(image: Any) -> Any:
    """The picture as 8-bit sRGB with an alpha band."""
    image = as_srgb(image)
    return image if image.hasalpha() else image.bandjoin(255)


def as_srgb(image: Any) -> Any:
    """The picture as 8-bit sRGB (greyscale expanded, 16-bit reduced), alpha kept."""
    if image.format != "uchar":
        image = image.colourspace("srgb") if image.interpretation in ("rgb16", "grey16") \
            else image.cast("uchar")
    if image.bands < 3 or image.interpretation not in ("srgb", "rgb"):
        image = image.colourspace("srgb")
    return image.copy(interpretation="srgb")


def rounded(image: Any, radius: float) -> Any:
    """``image`` with its corners cut to ``radius`` pixels (transparent outside)."""
    image = as_srgb_alpha(image)
    if radius <= 0:
        return image
    mask = rounded_mask(image.width, image.height, radius)
    alpha = (image[3] * (mask / 255.0)).cast("uchar")
    return image[0:3].bandjoin(alpha).copy(interpretation="srgb")


def rounded_mask(width: int, height: int, radius: float) -> Any:
    """A one-band mask: 255 inside a rounded rectangle filling ``width`` × ``height``."""
    pyvips = imaging.vips()
    r = min(radius, width / 2, height / 2)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
           f'<rect width="{width}" height="{height}" rx="{r:.2f}" ry="{r:.2f}" '
           f'fill="#fff"/></svg>')
    mask = pyvips.Image.svgload_buffer(svg.encode())
    return mask[3]


def paste(canvas: Any, image: Any, x: int, y: int) -> Any:
    """Alpha-composite ``image`` over ``canvas`` at (x, y); the result keeps the canvas bands."""
    image = as_srgb_alpha(image)
    bands = canvas.bands
    out = as_srgb_alpha(canvas).composite2(image, "over", x=x, y=y)
    out = out.cast("uchar").copy(interpretation="srgb")
    return out if bands == 4 else out[0:3].copy(interpretation="srgb")


def write_zip(path: Path, members: Iterable[tuple[str, Path]], *, remove: bool = True) -> int:
    """Write ``members`` (archive name, file) into a ZIP one file at a time; their count."""
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in members:
            archive.write(source, arcname=name)
            if remove:
                source.unlink()
            count += 1
    return count


def thumbnail(path: Path, width: int, height: int | None = None, *, size: str = "both") -> Any:
    """libvips' shrink-on-load thumbnail (upright), with a decode failure as a ToolError."""
    pyvips = imaging.vips()
    try:
        image = pyvips.Image.thumbnail(str(path), width, height=height or width, size=size)
        image = image.copy_memory()
    except pyvips.Error as exc:
        raise ToolError(f"cannot decode {path.name}: {str(exc).strip().splitlines()[-1]}") \
            from exc
    return image


def vips_errors(process: Process) -> Process:
    """Report a libvips failure while processing (libvips decodes lazily, so a truncated
    file fails only when its pixels are read) as a ToolError naming the input."""

    @functools.wraps(process)
    def run(ctx: ToolContext, settings: Any) -> ToolResult:
        pyvips = imaging.vips()
        try:
            return process(ctx, settings)
        except pyvips.Error as exc:
            names = ", ".join(source.name for source in ctx.inputs) or "the picture"
            reason = str(exc).strip().splitlines()[-1]
            raise ToolError(f"cannot process {names}: {reason}") from exc

    return run
