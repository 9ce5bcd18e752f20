"""Text rendering for the overlay tools: a white-on-black coverage mask of some text.

libvips renders with Pango (``Image.text``) when it can; a libvips without
text support falls back to Pillow's FreeType renderer. Both use DejaVu Sans
(Debian's fonts-dejavu-core), found through fontconfig or its usual path.
"""

from __future__ import annotations

import functools
import html
import shutil
import subprocess
from pathlib import Path
from typing import Any

from app.tools import imaging
from app.tools.base import ToolError

FONT_FAMILY = "DejaVu Sans"
_KNOWN_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
)


@functools.cache
def font_path() -> Path | None:
    """DejaVu Sans's TTF file, or None when the system has no copy."""
    fc_match = shutil.which("fc-match")
    if fc_match:
        try:
            found = subprocess.run([fc_match, "--format=%{file}", FONT_FAMILY],
                                   capture_output=True, text=True, timeout=10, check=False)
            path = Path(found.stdout.strip())
            if found.returncode == 0 and path.name.startswith("DejaVuSans") and path.is_file():
                return path
        except (OSError, subprocess.SubprocessError):
            pass
    return next((path for path in _KNOWN_PATHS if path.is_file()), None)


def estimate_size(text: str, size: float) -> tuple[float, float]:
    """A generous bound on the rendered size, to check the canvas before rendering."""
    lines = text.splitlines() or [text]
    return max(len(line) for line in lines) * size * 0.7 + size, len(lines) * size * 1.4


def text_mask(text: str, size: int, *, wrap: int | None = None) -> Any:
    """A one-band 8-bit image: 255 where the glyphs are, 0 elsewhere."""
    pyvips = imaging.vips()
    if hasattr(pyvips.Image, "text"):
        try:
            return _vips_text(pyvips, text, size, wrap)
        except pyvips.Error:
            pass  # no Pango in this libvips: use Pillow
    return _pillow_text(pyvips, text, size, wrap)


def _vips_text(pyvips: Any, text: str, size: int, wrap: int | None) -> Any:
    options: dict[str, Any] = {"font": f"{FONT_FAMILY} {size}", "dpi": 72, "align": "centre"}
    path = font_path()
    if path is not None:
        options["fontfile"] = str(path)
    if wrap is not None:
        options["width"] = max(1, wrap)
    return pyvips.Image.text(html.escape(text, quote=False), **options)


def _pillow_text(pyvips: Any, text: str, size: int, wrap: int | None) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    path = font_path()
    if path is None:
        raise ToolError("no font to draw text with: install fonts-dejavu-core")
    font = ImageFont.truetype(str(path), size)
    if wrap is not None:
        text = _wrap(text, font, wrap)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = probe.multiline_textbbox((0, 0), text, font=font, align="center")
    left, top, right, bottom = (round(value) for value in box)
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(canvas).multiline_text((-left, -top), text, fill=255, font=font,
                                          align="center")
    return pyvips.Image.new_from_memory(canvas.tobytes(), canvas.width, canvas.height, 1,
                                        "uchar")


def _wrap(text: str, font: Any, width: int) -> str:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}".strip()
            if line and font.getlength(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def colour_layer(mask: Any, rgb: list[float], opacity: float) -> Any:
    """An RGBA image of colour ``rgb`` whose alpha is ``mask`` × ``opacity`` (0..1)."""
    alpha = (mask * opacity).cast("uchar")
    colour = mask.new_from_image(rgb).cast("uchar")
    return colour.bandjoin(alpha).copy(interpretation="srgb")
