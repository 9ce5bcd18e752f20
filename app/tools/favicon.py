"""favicon: every favicon size, a favicon.ico, a web manifest and the HTML to paste."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from app.tools import imaging
from app.tools.base import (
    InputFile,
    InputSpec,
    OutputFile,
    ToolContext,
    ToolResult,
    ToolSettings,
    tool,
)

MAX_FILES = 20
PNG_SIZES = (("favicon-16x16.png", 16), ("favicon-32x32.png", 32), ("favicon-48x48.png", 48),
             ("apple-touch-icon.png", 180), ("android-chrome-192x192.png", 192),
             ("android-chrome-512x512.png", 512))
ICO_SIZES = (16, 32, 48)
SNIPPET = """<link rel="icon" type="image/x-icon" href="/favicon.ico">
<link rel="icon" type="image/png" sizes="32x32" href="/favicon-32x32.png">
<link rel="icon" type="image/png" sizes="16x16" href="/favicon-16x16.png">
<link rel="apple-touch-icon" sizes="180x180" href="/apple-touch-icon.png">
<link rel="manifest" href="/manifest.json">
"""


class FaviconSettings(ToolSettings):
    """favicon takes no settings."""


def square(image: Any, size: int) -> Any:
    """``image`` fitted inside a transparent ``size`` × ``size`` square, centred."""
    image = imaging.to_srgb8(image)
    if not image.hasalpha():
        image = image.bandjoin(255)
    scale = size / max(image.width, image.height)
    fitted = image.resize(scale, kernel="lanczos3")
    return fitted.gravity("centre", size, size, extend="background", background=[0, 0, 0, 0])


def manifest(name: str) -> str:
    icons = [{"src": f"/android-chrome-{n}x{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
             for n in (192, 512)]
    return json.dumps({"name": name, "short_name": name, "icons": icons,
                       "theme_color": "#ffffff", "background_color": "#ffffff",
                       "display": "standalone"}, indent=2)


def ico_bytes(image: Any) -> bytes:
    """A real multi-size ICO (16, 32 and 48 pixels)."""
    from PIL import Image

    big = square(image, max(ICO_SIZES))
    picture = Image.frombytes("RGBA", (big.width, big.height), big.write_to_memory())
    buffer = io.BytesIO()
    picture.save(buffer, format="ICO", sizes=[(n, n) for n in ICO_SIZES])
    return buffer.getvalue()


def add_icons(archive: zipfile.ZipFile, source: InputFile, folder: str) -> list[str]:
    image = imaging.load(source)
    names = []
    for name, size in PNG_SIZES:
        archive.writestr(folder + name, imaging.encode(square(image, size), "png"))
        names.append(folder + name)
    archive.writestr(folder + "favicon.ico", ico_bytes(image))
    archive.writestr(folder + "manifest.json", manifest(imaging.stem(source.name)))
    archive.writestr(folder + "favicon-snippet.html", SNIPPET)
    return [*names, folder + "favicon.ico", folder + "manifest.json",
            folder + "favicon-snippet.html"]


@tool("favicon", title="Favicon generator", category="format", settings=FaviconSettings,
      inputs=InputSpec(min_files=1, max_files=MAX_FILES),
      description="Make favicons, touch icons, a favicon.ico and a manifest, as a ZIP.")
def favicon(ctx: ToolContext, s: FaviconSettings) -> ToolResult:
    ctx.check_canvas(512, 512)
    path = ctx.output("favicons.zip")
    members: list[str] = []
    folders = _folders(ctx.inputs)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (source, folder) in enumerate(zip(ctx.inputs, folders, strict=True), 1):
            members += add_icons(archive, source, folder)
            ctx.progress(number / len(ctx.inputs), source.name)
    return ToolResult(files=[OutputFile(path, path.name, "application/zip")],
                      data={"files": members})


def _folders(inputs: Any) -> list[str]:
    """No folder for one picture; one folder per picture (unique names) for several."""
    if len(inputs) == 1:
        return [""]
    seen: dict[str, int] = {}
    folders = []
    for source in inputs:
        base = imaging.stem(source.name).replace("/", "_")
        seen[base] = seen.get(base, 0) + 1
        folders.append(f"{base}/" if seen[base] == 1 else f"{base}-{seen[base]}/")
    return folders
