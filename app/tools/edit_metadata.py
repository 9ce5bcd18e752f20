"""edit-metadata: write EXIF, XMP and IPTC tags in place, without re-encoding the pixels.

exiv2 (through pyexiv2) rewrites only the metadata blocks of JPEG, PNG,
WebP and TIFF files, so the compressed picture data is copied byte for
byte. Other formats are first written losslessly as PNG.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from app.tools import imaging
from app.tools.base import OutputFile, ToolContext, ToolError, ToolResult, ToolSettings, tool

IN_PLACE = {"jpg", "png", "webp", "tiff"}
DATE_KEYS = ("Exif.Image.DateTime", "Exif.Photo.DateTimeOriginal",
             "Exif.Photo.DateTimeDigitized")
EXIF_DATE = "%Y:%m:%d %H:%M:%S"

# Setting → the tags it writes (text values).
TEXT_TAGS: dict[str, tuple[str, ...]] = {
    "title": ("Xmp.dc.title",),
    "author": ("Xmp.dc.creator", "Iptc.Application2.Byline"),
    "artist": ("Exif.Image.Artist",),
    "copyright": ("Exif.Image.Copyright", "Xmp.dc.rights"),
    "imageDescription": ("Exif.Image.ImageDescription", "Xmp.dc.description"),
    "software": ("Exif.Image.Software",),
    "dateTime": ("Exif.Image.DateTime",),
    "dateTimeOriginal": ("Exif.Photo.DateTimeOriginal",),
    "iptcTitle": ("Iptc.Application2.ObjectName",),
    "iptcHeadline": ("Iptc.Application2.Headline",),
    "iptcCity": ("Iptc.Application2.City",),
    "iptcState": ("Iptc.Application2.ProvinceState",),
    "iptcCountry": ("Iptc.Application2.CountryName",),
}
REMOVABLE = {**{name.lower(): tags for name, tags in TEXT_TAGS.items()},
             "keywords": ("Iptc.Application2.Keywords", "Xmp.dc.subject"),
             "gps": ("Exif.GPSInfo",)}
_LANG_ALT = {"Xmp.dc.title", "Xmp.dc.rights", "Xmp.dc.description"}
_BAGS = {"Xmp.dc.creator", "Xmp.dc.subject"}


class EditMetadataSettings(ToolSettings):
    title: str | None = Field(None, max_length=2000, description="Title (XMP).")
    author: str | None = Field(None, max_length=2000, description="Author (XMP creator).")
    artist: str | None = Field(None, max_length=2000, description="Artist (EXIF).")
    copyright: str | None = Field(None, max_length=2000, description="Copyright notice.")
    imageDescription: str | None = Field(None, max_length=2000, description="Description.")
    software: str | None = Field(None, max_length=2000, description="Software.")
    dateTime: str | None = Field(None, description="Modification date (YYYY:MM:DD HH:MM:SS).")
    dateTimeOriginal: str | None = Field(None, description="Date taken (YYYY:MM:DD HH:MM:SS).")
    clearGps: bool = Field(False, description="Remove the GPS position.")
    fieldsToRemove: list[str] = Field(default_factory=list, max_length=100, description=(
        "Fields to remove: setting names (artist, keywords, gps ...) or exiv2 keys."))
    gpsLatitude: float | None = Field(None, ge=-90, le=90, description="Latitude in degrees.")
    gpsLongitude: float | None = Field(None, ge=-180, le=180, description="Longitude.")
    gpsAltitude: float | None = Field(None, description="Altitude in metres.")
    keywords: list[str] | None = Field(None, max_length=500, description="Keywords.")
    keywordsMode: Literal["add", "set"] = Field("add", description="Add to or replace the "
                                                                   "existing keywords.")
    dateShift: str | None = Field(None, pattern=r"^[+-]\d{1,2}:\d{2}$",
                                  description="Shift every date by ±HH:MM.")
    setAllDates: str | None = Field(None, description="Set every date (YYYY:MM:DD HH:MM:SS).")
    iptcTitle: str | None = Field(None, max_length=64, description="IPTC object name.")
    iptcHeadline: str | None = Field(None, max_length=256, description="IPTC headline.")
    iptcCity: str | None = Field(None, max_length=32, description="IPTC city.")
    iptcState: str | None = Field(None, max_length=32, description="IPTC province or state.")
    iptcCountry: str | None = Field(None, max_length=64, description="IPTC country.")

    @field_validator("dateTime", "dateTimeOriginal", "setAllDates")
    @classmethod
    def _exif_date(cls, value: str | None) -> str | None:
        return None if value is None else exif_date(value)

    @field_validator("fieldsToRemove")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        for name in value:
            if name.lower() not in REMOVABLE and not re.match(r"^(Exif|Xmp|Iptc)\.\w+", name):
                raise ValueError(f"unknown field {name!r}")
        return value


def exif_date(value: str) -> str:
    """``2024-05-01T12:30:00`` or ``2024:05:01 12:30:00`` → EXIF's ``2024:05:01 12:30:00``."""
    text = value.strip().replace("T", " ")
    for layout in (EXIF_DATE, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).strftime(EXIF_DATE)
        except ValueError:
            continue
    raise ValueError("not a date: use YYYY:MM:DD HH:MM:SS")


def gps_rational(degrees: float) -> str:
    """Degrees as EXIF's three rationals: degrees, minutes, seconds (1/10000 s)."""
    total = round(abs(degrees) * 3600 * 10000)
    d, rest = divmod(total, 3600 * 10000)
    m, seconds = divmod(rest, 60 * 10000)
    return f"{d}/1 {m}/1 {seconds}/10000"


def gps_tags(s: EditMetadataSettings) -> dict[str, Any]:
    tags: dict[str, Any] = {}
    if s.gpsLatitude is not None:
        tags["Exif.GPSInfo.GPSLatitudeRef"] = "N" if s.gpsLatitude >= 0 else "S"
        tags["Exif.GPSInfo.GPSLatitude"] = gps_rational(s.gpsLatitude)
    if s.gpsLongitude is not None:
        tags["Exif.GPSInfo.GPSLongitudeRef"] = "E" if s.gpsLongitude >= 0 else "W"
        tags["Exif.GPSInfo.GPSLongitude"] = gps_rational(s.gpsLongitude)
    if s.gpsAltitude is not None:
        tags["Exif.GPSInfo.GPSAltitudeRef"] = "0" if s.gpsAltitude >= 0 else "1"
        tags["Exif.GPSInfo.GPSAltitude"] = f"{round(abs(s.gpsAltitude) * 100)}/100"
    if tags:
        tags["Exif.GPSInfo.GPSVersionID"] = "2 3 0 0"
    return tags


def text_tags(s: EditMetadataSettings) -> dict[str, Any]:
    tags: dict[str, Any] = {}
    for name, keys in TEXT_TAGS.items():
        value = getattr(s, name)
        if value is None:
            continue
        for key in keys:
            tags[key] = _xmp_value(key, value)
    if s.setAllDates is not None:
        tags.update(dict.fromkeys(DATE_KEYS, s.setAllDates))
    return tags


def _xmp_value(key: str, value: str) -> Any:
    if key in _LANG_ALT:
        return {'lang="x-default"': value}
    return [value] if key in _BAGS else value


def shifted_dates(current: dict[str, str], shift: str) -> dict[str, str]:
    sign = -1 if shift.startswith("-") else 1
    hours, minutes = (int(part) for part in shift[1:].split(":"))
    delta = sign * timedelta(hours=hours, minutes=minutes)
    result = {}
    for key in DATE_KEYS:
        if key in current:
            try:
                moved = datetime.strptime(current[key].strip(), EXIF_DATE) + delta
            except ValueError:
                continue  # an unreadable date stays as it was
            result[key] = moved.strftime(EXIF_DATE)
    return result


class _Tags:
    """The tags of one file, read once and written back by group."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.exif: dict[str, Any] = handle.read_exif()
        self.iptc: dict[str, Any] = handle.read_iptc()
        self.xmp: dict[str, Any] = handle.read_xmp()

    def remove(self, prefixes: tuple[str, ...]) -> None:
        for group, modify in ((self.exif, self.handle.modify_exif),
                              (self.iptc, self.handle.modify_iptc),
                              (self.xmp, self.handle.modify_xmp)):
            doomed = {key: None for key in group if key.startswith(prefixes)}
            if doomed:
                modify(doomed)
                for key in doomed:
                    group.pop(key)

    def write(self, tags: dict[str, Any]) -> None:
        for prefix, modify in (("Exif.", self.handle.modify_exif),
                               ("Iptc.", self.handle.modify_iptc),
                               ("Xmp.", self.handle.modify_xmp)):
            part = {key: value for key, value in tags.items() if key.startswith(prefix)}
            if part:
                modify(part)


def keyword_tags(s: EditMetadataSettings, tags: _Tags) -> dict[str, Any]:
    if s.keywords is None:
        return {}
    keywords = [word.strip() for word in s.keywords if word.strip()]
    if s.keywordsMode == "add":
        old = tags.iptc.get("Iptc.Application2.Keywords", [])
        old = [old] if isinstance(old, str) else list(old)
        keywords = old + [word for word in keywords if word not in old]
    return {"Iptc.Application2.Keywords": keywords, "Xmp.dc.subject": keywords}


def removals(s: EditMetadataSettings) -> tuple[str, ...]:
    prefixes: list[str] = ["Exif.GPSInfo."] if s.clearGps else []
    for name in s.fieldsToRemove:
        prefixes.extend(REMOVABLE.get(name.lower(), (name,)))
    return tuple(prefixes)


def edit(path: str, s: EditMetadataSettings) -> dict[str, Any]:
    import pyexiv2

    pyexiv2.set_log_level(3)  # errors only: exiv2's warnings about odd files are noise
    handle = pyexiv2.Image(path)
    try:
        tags = _Tags(handle)
        if removals(s):
            tags.remove(removals(s))
        changes = {**text_tags(s), **gps_tags(s), **keyword_tags(s, tags)}
        tags.write(changes)
        if s.dateShift:
            current = {key: tags.exif.get(key) or changes.get(key) for key in DATE_KEYS}
            tags.write(shifted_dates({k: v for k, v in current.items() if v}, s.dateShift))
        return {"written": sorted(changes), "removed": list(removals(s))}
    finally:
        handle.close()


def _prepare(ctx: ToolContext) -> tuple[Path, bool]:
    """Copy (or, for formats exiv2 cannot write, re-encode as PNG) the input to the output."""
    ext = imaging.output_ext(ctx.input)
    name = f"{imaging.stem(ctx.input.name)}_edit-metadata"
    if ext in IN_PLACE:
        path = ctx.output(f"{name}.{ext}")
        shutil.copyfile(ctx.input.path, path)
        return path, False
    return imaging.save(ctx, imaging.load(ctx.input), name, "png").path, True


@tool("edit-metadata", title="Edit metadata", category="optimization",
      settings=EditMetadataSettings, pipeline=True,
      description="Write title, author, copyright, dates, GPS and keywords without "
                  "re-encoding the picture.")
def edit_metadata(ctx: ToolContext, s: EditMetadataSettings) -> ToolResult:
    path, reencoded = _prepare(ctx)
    try:
        data = edit(str(path), s)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ToolError(f"cannot write metadata into {ctx.input.name}: {exc}") from exc
    out = OutputFile(path, path.name, imaging.MIME_BY_EXT[path.suffix[1:]])
    return ToolResult(files=[out], data={**data, "reencoded": reencoded})
