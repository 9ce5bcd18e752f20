"""info: what a picture file is — size, format, colour, metadata present, channel statistics."""

from __future__ import annotations

from typing import Any

from app.tools import _canvas, imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

BIT_DEPTH = {"uchar": 8, "char": 8, "ushort": 16, "short": 16, "uint": 32, "int": 32,
             "float": 32, "double": 64, "complex": 64, "dpcomplex": 128}
CHANNEL_NAMES = {1: ["gray"], 2: ["gray", "alpha"], 3: ["red", "green", "blue"],
                 4: ["red", "green", "blue", "alpha"]}


class InfoSettings(ToolSettings):
    pass


@tool("info", title="Image info", category="utilities", settings=InfoSettings, cheap=True,
      description="Dimensions, format, colour space, metadata and per-channel statistics.")
@_canvas.vips_errors
def info(ctx: ToolContext, s: InfoSettings) -> ToolResult:
    source = ctx.input
    upright = imaging.load(source)  # refuses an undecodable file with a clear message
    image = imaging.vips().Image.new_from_file(str(source.path))  # as stored, not rotated
    fields = set(image.get_fields())
    data: dict[str, Any] = {
        "filename": source.name,
        "fileSize": source.path.stat().st_size,
        "width": image.width,
        "height": image.get_page_height(),
        "format": imaging.EXT_BY_MIME.get(source.mime, source.mime.split("/")[-1]),
        "channels": image.bands,
        "hasAlpha": bool(image.hasalpha()),
        "colorSpace": str(image.interpretation),
        "density": round(image.xres * 25.4, 2),
        "isProgressive": bool(image.get("interlaced")) if "interlaced" in fields else False,
        "orientation": image.get("orientation") if "orientation" in fields else None,
        "hasExif": "exif-data" in fields,
        "hasIcc": "icc-profile-data" in fields,
        "hasXmp": "xmp-data" in fields,
        "bitDepth": BIT_DEPTH.get(str(image.format), 8),
        "pages": image.get("n-pages") if "n-pages" in fields else 1,
    }
    data["hasProfile"] = data["hasIcc"]
    ctx.progress(0.5, "measuring channels")
    data["histogram"] = channel_stats(upright)
    return ToolResult(data=data)


def channel_stats(image: Any) -> list[dict[str, Any]]:
    """min, max, mean and standard deviation of every band (libvips ``stats``)."""
    stats = image.stats()
    names = CHANNEL_NAMES.get(image.bands, [f"band{i}" for i in range(image.bands)])
    rows = []
    for band, name in enumerate(names):
        row = band + 1  # row 0 holds the statistics of all bands together
        rows.append({"channel": name, "min": stats(0, row)[0], "max": stats(1, row)[0],
                     "mean": round(stats(4, row)[0], 3), "stdev": round(stats(5, row)[0], 3)})
    return rows
