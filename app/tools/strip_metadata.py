"""strip-metadata: remove EXIF, GPS, ICC and XMP (all of it by default), re-encoding."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.tools import imaging
from app.tools.base import ToolContext, ToolResult, ToolSettings, tool

# ashim's re-encoding settings per format.
_ENCODE: dict[str, dict[str, Any]] = {
    "jpg": {"quality": 90, "optimize_coding": True, "trellis_quant": True},
    "png": {"compression": 9},
    "webp": {"quality": 85},
    "avif": {"quality": 50},
    "tiff": {"compression": "lzw"},
}


class StripMetadataSettings(ToolSettings):
    stripExif: bool = Field(False, description="Remove EXIF (camera, dates, GPS).")
    stripGps: bool = Field(False, description="Remove only the GPS position.")
    stripIcc: bool = Field(False, description="Remove the ICC colour profile.")
    stripXmp: bool = Field(False, description="Remove XMP.")
    stripAll: bool = Field(True, description="Remove every kind of metadata, text chunks "
                                             "included (overrides the others).")


def keep_flags(s: StripMetadataSettings) -> int:
    """libvips ``keep`` flags: what survives the re-encoding."""
    keep = imaging.vips().enums.ForeignKeep
    if s.stripAll:
        return int(keep.NONE)
    flags = int(keep.ALL)
    for strip, flag in ((s.stripExif, keep.EXIF), (s.stripIcc, keep.ICC),
                        (s.stripXmp, keep.XMP)):
        if strip:
            flags &= ~int(flag)
    return flags


def without_gps(image: Any) -> Any:
    """``image`` whose EXIF block has no GPS directory left."""
    import piexif

    if "exif-data" not in image.get_fields():
        return image
    try:
        exif = piexif.load(bytes(image.get("exif-data")))
    except Exception:
        exif = None
    image = image.copy()
    for name in image.get_fields():
        if name.startswith("exif-ifd3-") or (exif is None and name.startswith("exif-")):
            image.remove(name)
    if exif is None:
        image.remove("exif-data")
        return image
    exif["GPS"] = {}
    exif.get("0th", {}).pop(piexif.ImageIFD.GPSTag, None)
    image.set_type(imaging.vips().GValue.blob_type, "exif-data", piexif.dump(exif))
    return image


@tool("strip-metadata", title="Strip metadata", category="optimization",
      settings=StripMetadataSettings, pipeline=True,
      description="Remove EXIF, GPS, colour profiles, XMP and text from a picture.")
def strip_metadata(ctx: ToolContext, s: StripMetadataSettings) -> ToolResult:
    image = imaging.load(ctx.input)
    if not s.stripAll and s.stripGps and not s.stripExif:
        image = without_gps(image)
    ext = imaging.output_ext(ctx.input)
    out = imaging.save(ctx, image, f"{imaging.stem(ctx.input.name)}_strip-metadata", ext,
                       keep=keep_flags(s), **_ENCODE.get(ext, {}))
    return ToolResult(files=[out], data={"originalSize": ctx.input.path.stat().st_size,
                                         "processedSize": out.path.stat().st_size})
