"""Read an image's header — dimensions, orientation, frames — and refuse bombs.

A 100000×100000 PNG is a few kilobytes on disk and 30 GB in memory. So the
pixel count is checked from the header alone, before anything decodes: with
libvips' header read (cheap and with no size limit of its own) for every
format it knows, and with a few bytes of the header for BMP.

Pillow keeps a process-wide limit of its own (``Image.MAX_IMAGE_PIXELS``)
that would fire, as a warning or an error and with a message meant for
programmers, before our check could run. ``probe_image`` raises Pillow's
limit to ours, so Pillow only fires for images we refuse anyway, and
``open_pillow`` (the one way this package opens images with Pillow) turns
that warning and error into ``TooLarge`` and any other failure into
``BadRequest``.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from app.errors import BadRequest, TooLarge, UnsupportedType
from app.media.sniff import BY_MIME

log = logging.getLogger(__name__)

PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP",
                  "image/gif": "GIF", "image/tiff": "TIFF", "image/bmp": "BMP",
                  "image/avif": "AVIF", "image/heic": "HEIF", "image/heif": "HEIF"}
VIPS_LOADERS = {"image/jpeg": "jpegload", "image/png": "pngload", "image/webp": "webpload",
                "image/gif": "gifload", "image/tiff": "tiffload", "image/avif": "heifload",
                "image/heic": "heifload", "image/heif": "heifload"}
ANIMATABLE = {"image/gif", "image/webp", "image/png", "image/avif"}

_lock = threading.Lock()
_warnings_lock = threading.RLock()
_heif_registered = False
_vips_module: ModuleType | bool | None = False  # False: not tried yet


@dataclass(frozen=True)
class ImageInfo:
    width: int  # as stored, before EXIF orientation (HEIF rotations are applied by libheif)
    height: int
    orientation: int  # EXIF 1–8
    frames: int
    animated: bool


def probe_image(path: Path, mime: str, *, max_pixels: int) -> ImageInfo:
    """Header facts about the image at ``path``; TooLarge for bombs, BadRequest if unreadable."""
    relax_pillow_limit(max_pixels)
    width, height, orientation, frames = read_header(path, mime, max_pixels=max_pixels)
    check_pixels(width, height, max_pixels)
    return ImageInfo(width, height, orientation, frames, frames > 1 and mime in ANIMATABLE)


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse empty images and images with more than ``max_pixels`` pixels."""
    if width < 1 or height < 1:
        raise BadRequest(f"The image has no pixels ({width}×{height}).")
    if width * height > max_pixels:
        raise TooLarge(
            f"The image is {width}×{height} pixels ({_megapixels(width * height)} megapixels); "
            f"the limit is {_megapixels(max_pixels)} megapixels.",
            width=width, height=height, max_pixels=max_pixels)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.1f}".removesuffix(".0")


def relax_pillow_limit(max_pixels: int) -> None:
    """Make Pillow's own bomb limit no stricter than ours (it never fires first)."""
    with _lock:
        current = Image.MAX_IMAGE_PIXELS
        if current is not None and current < max_pixels:
            Image.MAX_IMAGE_PIXELS = max_pixels


def read_header(path: Path, mime: str, *,
                max_pixels: int | None = None) -> tuple[int, int, int, int]:
    """(width, height, orientation, frames) from the header alone; no size check of ours."""
    if mime not in PILLOW_FORMATS:
        raise UnsupportedType(f"{mime} is not an image type Salon reads.")
    if mime == "image/bmp":
        return (*_bmp_size(path), 1, 1)
    vips = vips_module()
    if vips is None:
        return _pillow_header(path, mime, max_pixels)
    return _vips_header(vips, path, mime)


def _bmp_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as file:
        head = file.read(26)
    if len(head) < 26 or head[:2] != b"BM":
        raise BadRequest("The file is a truncated or corrupt BMP.")
    if struct.unpack_from("<I", head, 14)[0] == 12:
        width, height = struct.unpack_from("<HH", head, 18)
    else:
        width, height = struct.unpack_from("<ii", head, 18)
    return width, abs(height)  # a negative height means rows run top-down


def _vips_header(vips: Any, path: Path, mime: str) -> tuple[int, int, int, int]:
    image = open_vips(path, mime)
    frames = _vips_int(image, "n-pages", 1)
    if mime == "image/png":
        frames = _apng_frames(path) or frames
    return image.width, image.height, vips_orientation(image), frames


def _apng_frames(path: Path) -> int | None:
    """Frame count from an APNG's acTL chunk (libvips reads only the default image)."""
    with path.open("rb") as file:
        file.seek(8)
        for _ in range(64):  # acTL must come before the first IDAT
            header = file.read(8)
            if len(header) < 8:
                return None
            length, kind = struct.unpack(">I4s", header)
            if kind == b"acTL" and length >= 8:
                return max(1, struct.unpack(">I", file.read(4))[0])
            if kind == b"IDAT":
                return None
            file.seek(length + 4, 1)
    return None


def open_vips(path: Path, mime: str) -> Any:
    """A libvips image with only its header read; BadRequest if there is none."""
    vips = vips_module()
    try:
        return vips.Operation.call(VIPS_LOADERS[mime], str(path), access="sequential")
    except vips.Error as exc:
        log.debug("libvips cannot read the header of %s: %s", path, exc)
        raise corrupt(mime) from exc


def vips_orientation(image: Any) -> int:
    orientation = _vips_int(image, "orientation", 1)
    return orientation if 1 <= orientation <= 8 else 1


def _vips_int(image: Any, field: str, default: int) -> int:
    if image.get_typeof(field) == 0:
        return default
    value = image.get(field)
    return value if isinstance(value, int) else default


def _pillow_header(path: Path, mime: str, max_pixels: int | None) -> tuple[int, int, int, int]:
    """Without libvips: Pillow's lazy open reads the header only."""
    with open_pillow(path, mime, max_pixels=max_pixels) as image:
        frames = getattr(image, "n_frames", 1)
        return image.width, image.height, pillow_orientation(image, mime), frames


def pillow_orientation(image: Image.Image, mime: str) -> int:
    """EXIF orientation without decoding (Pillow's PNG ``getexif`` would decode)."""
    try:
        if mime == "image/png":
            raw = image.info.get("exif")
            exif = Image.Exif()
            if raw:
                exif.load(raw)
        else:
            exif = image.getexif()
        value = exif.get(0x0112, 1)
    except Exception as exc:  # odd EXIF must not stop an upload
        log.debug("unreadable EXIF orientation: %s", exc)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def corrupt(mime: str) -> BadRequest:
    label = BY_MIME[mime].label if mime in BY_MIME else mime
    return BadRequest(f"The file is a truncated or corrupt {label}.")


_BOMB = re.compile(r"\((\d+) pixels\)")


def open_pillow(path: Path, mime: str, *, max_pixels: int | None = None) -> Image.Image:
    """Open lazily with Pillow, allowing only the sniffed format; use as a context manager.

    ``max_pixels`` only words the message should Pillow's own bomb limit fire.
    """
    fmt = PILLOW_FORMATS.get(mime)
    if fmt is None:
        raise UnsupportedType(f"{mime} is not an image type Salon reads.")
    if fmt == "HEIF":
        _register_heif()
    try:
        with warnings_as(Image.DecompressionBombWarning, "error"):
            return Image.open(path, formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _pillow_bomb(exc, max_pixels or Image.MAX_IMAGE_PIXELS or 0) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as exc:
        log.debug("Pillow cannot open %s as %s: %s", path, fmt, exc)
        raise corrupt(mime) from exc


@contextmanager
def warnings_as(category: type[Warning], action: Literal["error", "ignore"]) -> Iterator[None]:
    """Treat one warning category differently for a moment.

    ``warnings.catch_warnings`` swaps process-wide state; the lock keeps this
    package's own uses from interleaving (and leaving a filter behind).
    """
    with _warnings_lock, warnings.catch_warnings():
        warnings.simplefilter(action, category)
        yield


def _pillow_bomb(exc: Exception, limit: int) -> TooLarge:
    found = _BOMB.search(str(exc))
    if found is None:
        return TooLarge("The image has too many pixels.", max_pixels=limit)
    pixels = int(found.group(1))
    return TooLarge(f"The image has {_megapixels(pixels)} megapixels; the limit is "
                    f"{_megapixels(limit)} megapixels.", pixels=pixels, max_pixels=limit)


def _register_heif() -> None:
    global _heif_registered
    with _lock:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True


def vips_module() -> Any:
    """pyvips, or None where libvips is not installed (Pillow then does everything)."""
    global _vips_module
    with _lock:
        if _vips_module is False:
            _vips_module = _import_vips()
        return _vips_module


def _import_vips() -> ModuleType | None:
    try:
        import pyvips
    except (ImportError, OSError) as exc:
        log.info("libvips is not available, Pillow will do all image work: %s", exc)
        return None
    # Uploads are never decoded twice: the operation cache would only hold memory
    # and open files of finished uploads.
    pyvips.cache_set_max(0)
    return pyvips
