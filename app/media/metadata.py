"""What a picture says about itself: camera EXIF, GPS, text chunks, generation settings.

AI images carry their recipe as text: Automatic1111/Forge write one
``parameters`` text, ComfyUI writes its whole node graph as JSON (``prompt``,
``workflow``), NovelAI writes JSON in ``Comment``. ``extract_metadata`` keeps
the raw text (capped, so a hostile file cannot fill memory) and parses the
recipe into one common shape the gallery can search and show.

Metadata is never a reason to refuse an upload: anything odd is logged at
debug level and skipped. PNG chunks are read directly (Pillow would decode
the whole image to reach text stored after the pixel data).
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from PIL import Image

from app.media.generation import TEXT_LIMIT, parse_generation
from app.media.generation import finite_number as _number
from app.media.probe import open_pillow, warnings_as

log = logging.getLogger(__name__)

MAX_CHUNKS = 100_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_T = TypeVar("_T")


def extract_metadata(path: Path, mime: str) -> dict[str, Any]:
    """``{"exif", "gps", "generation", "text"}`` for the image at ``path``; never raises."""
    result: dict[str, Any] = {"exif": {}, "gps": None, "generation": None, "text": {}}
    if not mime.startswith("image/"):
        return result  # video facts come from app.media.video
    nothing: tuple[Image.Exif | None, dict[str, str]] = (None, {})
    exif, text = _safe(lambda: _read_raw(path, mime), nothing)
    if exif is not None:
        no_fields: dict[str, Any] = {}
        result["exif"] = _safe(lambda: exif_fields(exif), no_fields)
        result["gps"] = _safe(lambda: gps_position(exif), None)
        comment = _safe(lambda: user_comment(exif), None)
        room = TEXT_LIMIT - sum(map(len, text.values()))
        if comment and room > 0:
            text.setdefault("UserComment", comment[:room])
    result["text"] = text
    result["generation"] = _safe(lambda: parse_generation(text), None)
    return result


def _safe(read: Callable[[], _T], fallback: _T) -> _T:
    """``read()``, or ``fallback`` when the file's metadata is odd in any way."""
    try:
        with warnings_as(UserWarning, "ignore"):  # Pillow warns about odd EXIF; we log
            return read()
    except Exception as exc:  # metadata must never stop an upload
        log.debug("skipping unreadable metadata: %s", exc, exc_info=True)
        return fallback


def _read_raw(path: Path, mime: str) -> tuple[Image.Exif | None, dict[str, str]]:
    if mime == "image/png":
        text, raw_exif = read_png_chunks(path)
        return (_exif_from_bytes(raw_exif) if raw_exif else None), text
    with open_pillow(path, mime) as image:
        exif = image.getexif()
        for ifd in (_EXIF_IFD, _GPS_IFD):  # read them while the file is open
            exif.get_ifd(ifd)
        comment = image.info.get("comment")
    text = {"comment": _decode_text(comment)[:TEXT_LIMIT]} if comment else {}
    return exif, text


def _exif_from_bytes(raw: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(raw)
    return exif


def _decode_text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


# --- PNG text chunks ---------------------------------------------------------------------


def read_png_chunks(path: Path) -> tuple[dict[str, str], bytes | None]:
    """tEXt, zTXt and iTXt texts (at most ``TEXT_LIMIT`` characters) and eXIf bytes."""
    text: dict[str, str] = {}
    exif = None
    with path.open("rb") as file:
        if file.read(8) != PNG_SIGNATURE:
            return text, None
        for kind, data in _chunks(file):
            if kind == b"eXIf" and exif is None:
                exif = data
                continue
            budget = TEXT_LIMIT - sum(map(len, text.values()))
            entry = _text_chunk(kind, data, budget)
            if entry is not None and entry[0] not in text:
                text[entry[0]] = entry[1]
    return text, exif


def _chunks(file: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """(type, data) of the metadata chunks; the others (pixel data) are skipped unread."""
    for _ in range(MAX_CHUNKS):
        header = file.read(8)
        if len(header) < 8:
            return
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            return
        if kind not in (b"tEXt", b"zTXt", b"iTXt", b"eXIf") or length > 4 * TEXT_LIMIT:
            file.seek(length + 4, 1)
            continue
        data, crc = file.read(length), file.read(4)
        if len(crc) == 4 and zlib.crc32(kind + data) == struct.unpack(">I", crc)[0]:
            yield kind, data
        else:
            log.debug("skipping PNG %s chunk with a bad checksum", kind.decode("latin-1"))


def _text_chunk(kind: bytes, data: bytes, budget: int) -> tuple[str, str] | None:
    keyword, sep, rest = data.partition(b"\x00")
    if not sep or not 1 <= len(keyword) <= 79 or budget <= 0:
        return None
    key = keyword.decode("latin-1")
    value: str | None
    if kind == b"tEXt":
        value = rest[:budget].decode("latin-1")
    elif kind == b"zTXt":
        value = _inflate(rest[1:], budget).decode("latin-1") if rest[:1] == b"\x00" else None
    else:
        value = _itxt(rest, budget)
    return (key, value) if value is not None else None


def _itxt(rest: bytes, budget: int) -> str | None:
    if len(rest) < 2:
        return None
    compressed, method = rest[0], rest[1]
    _language, _, rest = rest[2:].partition(b"\x00")
    _translated, _, body = rest.partition(b"\x00")
    if compressed and method != 0:
        return None
    raw = _inflate(body, budget) if compressed else body[:budget]
    return raw.decode("utf-8", "replace")


def _inflate(data: bytes, budget: int) -> bytes:
    """zlib-decompress at most ``budget`` bytes: a small chunk cannot become gigabytes."""
    return zlib.decompressobj().decompress(data, budget)


# --- EXIF --------------------------------------------------------------------------------


def exif_fields(exif: Image.Exif) -> dict[str, Any]:
    """Camera facts as simple JSON values; absent or odd values are left out."""
    sub = exif.get_ifd(_EXIF_IFD)

    def tag(number: int) -> Any:
        value = sub.get(number)
        return exif.get(number) if value is None else value

    fields = {
        "make": _clean(exif.get(0x010F)), "model": _clean(exif.get(0x0110)),
        "lens": _clean(tag(0xA434)), "exposure_time": _exposure(tag(0x829A)),
        "f_number": _positive(tag(0x829D)), "iso": _iso(tag(0x8827)),
        "focal_length": _positive(tag(0x920A)),
        "taken_at": _taken_at(tag(0x9003), tag(0x9011)),
        "orientation": _orientation(exif.get(0x0112)), "software": _clean(exif.get(0x0131)),
    }
    return {key: value for key, value in fields.items() if value is not None}


def _clean(value: Any, limit: int = 256) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:limit] or None


def _positive(value: Any) -> float | None:
    number = _number(value)
    return round(number, 2) if number is not None and number > 0 else None


def _iso(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and 0 < number < 10_000_000 else None


def _orientation(value: Any) -> int | None:
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _exposure(value: Any) -> str | None:
    """Seconds as photographers write them: "1/250", "0.6", "2.5"."""
    seconds = _number(value)
    if seconds is None or seconds <= 0:
        return None
    if seconds < 1 and abs(1 / seconds - round(1 / seconds)) < 0.05 * (1 / seconds):
        return f"1/{round(1 / seconds)}"
    return f"{seconds:.4g}"


def _taken_at(stamp: Any, offset: Any) -> str | None:
    text = _clean(stamp, 32)
    if text is None:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _clean(offset, 16)
    suffix = zone if zone and re.fullmatch(r"[+-]\d\d:\d\d", zone) else ""
    return moment.isoformat() + suffix


def gps_position(exif: Image.Exif) -> dict[str, float | None] | None:
    """Decimal degrees (south and west negative) and metres, or None."""
    gps = exif.get_ifd(_GPS_IFD)
    latitude = _degrees(gps.get(2), gps.get(1), "S")
    longitude = _degrees(gps.get(4), gps.get(3), "W")
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        return None
    altitude = _number(gps.get(6))
    if altitude is not None and gps.get(5) in (1, b"\x01"):
        altitude = -altitude
    return {"latitude": round(latitude, 7), "longitude": round(longitude, 7),
            "altitude": None if altitude is None else round(altitude, 2)}


def _degrees(parts: Any, ref: Any, negative: str) -> float | None:
    if not isinstance(parts, tuple) or not 1 <= len(parts) <= 3:
        return None
    values = [_number(part) for part in parts]
    if any(value is None for value in values):
        return None
    degrees = sum(value / 60**index for index, value in enumerate(values))
    return -degrees if _clean(ref, 2) == negative else degrees


def user_comment(exif: Image.Exif) -> str | None:
    """EXIF UserComment, whose first 8 bytes name the encoding (A1111 writes UTF-16)."""
    raw = exif.get_ifd(_EXIF_IFD).get(0x9286)
    if isinstance(raw, str):
        return _clean(raw, TEXT_LIMIT)
    if not isinstance(raw, bytes) or len(raw) <= 8:
        return None
    prefix, body = raw[:8], raw[8:TEXT_LIMIT * 2 + 8]
    if prefix == b"UNICODE\x00":
        return _clean(_utf16(body), TEXT_LIMIT)
    if prefix == b"JIS\x00\x00\x00\x00\x00":
        return _clean(body.decode("iso2022_jp", "replace"), TEXT_LIMIT)
    return _clean(body if prefix in (b"ASCII\x00\x00\x00", bytes(8)) else raw, TEXT_LIMIT)


def _utf16(body: bytes) -> str:
    """UTF-16 of either byte order: a BOM, else where the zero bytes of ASCII fall."""
    if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return body.decode("utf-16", "replace")
    high_first = body[0::2].count(0) > body[1::2].count(0)
    return body[: len(body) // 2 * 2].decode("utf-16-be" if high_first else "utf-16-le",
                                               "replace")
