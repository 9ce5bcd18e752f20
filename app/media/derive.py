"""The two images every gallery page shows: a 256 px thumbnail and a 1024 px preview.

This runs on the upload path, so it decodes once, at the smallest size that
still gives a 1024 px preview (JPEG DCT scaling, libvips shrink-on-load),
makes the preview, and makes the thumbnail from the preview. Both are upright
(EXIF orientation applied), sRGB, 8 bit, alpha kept, first frame only, and
carry no metadata (a thumbnail must never leak the GPS position). The whole
image is decoded, so a truncated or corrupt upload fails here, and files are
written under a temporary name and renamed, so a failure leaves nothing.

Backend per format: the faster one, measured (2 busy cores, median ms for
both WebP files; "bare" = one 256 px ``Image.thumbnail`` / ``pyvips.thumbnail``
call and save; 12 MP noise+gradient images):

    format  Pillow  libvips  bare Pillow  bare libvips
    JPEG      85-90  107-125   64-74       69-79   Pillow (draft to 1/2 scale)
    PNG        249     185      221         173    libvips
    WebP       452     379      417         373    libvips
    TIFF        46     41-49     31          29    libvips (a tie; handles more TIFFs)
    GIF        134     154       84         136    Pillow
    AVIF       239     910      214         885    Pillow
    HEIC       824      -       826          -     Pillow (this libvips has no HEVC)
    BMP         47      -        32          -     Pillow (this libvips has no BMP)

Upload path for a 12 MP JPEG (hash+copy, sniff, probe, derive, metadata; no
database): 96 ms against 70 ms for the bare Pillow call, 1.37×. WebP method 0
for the preview is 2–5× faster than the default 4 at the same quality (files
~20 % larger); the preview's bilinear step runs in horizontal bands on all
cores, and the thumbnail is made and encoded (method 4) while the preview
encodes.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import struct
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageFile

from app.errors import TooLarge
from app.media.probe import (
    VIPS_LOADERS,
    corrupt,
    open_pillow,
    open_vips,
    pillow_orientation,
    vips_module,
    vips_orientation,
)

log = logging.getLogger(__name__)

THUMB_SIZE = 256
PREVIEW_SIZE = 1024
QUALITY = 80
PREVIEW_METHOD = 0
THUMB_METHOD = 4  # free: it encodes while the preview does
BACKENDS = {"image/jpeg": "pillow", "image/gif": "pillow", "image/bmp": "pillow",
            "image/avif": "pillow", "image/heic": "pillow", "image/heif": "pillow",
            "image/png": "vips", "image/webp": "vips", "image/tiff": "vips"}

_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error)
_srgb_profile: Any = None
_WORKERS = min(4, os.cpu_count() or 1)

Size = tuple[int, int]
Renderer = Callable[[Path, str, Path, Path], Size]


@dataclass(frozen=True)
class Derived:
    width: int  # of the original as displayed, i.e. after EXIF orientation
    height: int
    thumb: Path
    preview: Path


def make_derivatives(src: Path, mime: str, out_dir: Path, *,
                     backend: str | None = None) -> Derived:
    """Write ``out_dir/thumb.webp`` and ``out_dir/preview.webp`` for the image at ``src``.

    Call ``probe_image`` first: it refuses decompression bombs. ``backend``
    ("pillow" or "vips") overrides the per-format choice, for tests and benchmarks.
    """
    renderer = _renderer(backend or BACKENDS.get(mime, "pillow"), mime)
    out_dir.mkdir(parents=True, exist_ok=True)
    thumb, preview = out_dir / "thumb.webp", out_dir / "preview.webp"
    with _staged(out_dir, 2) as (staged_preview, staged_thumb):
        width, height = renderer(src, mime, staged_preview, staged_thumb)
        os.replace(staged_preview, preview)
        os.replace(staged_thumb, thumb)
    return Derived(width, height, thumb, preview)


def _renderer(backend: str, mime: str) -> Renderer:
    if backend == "vips" and mime in VIPS_LOADERS and vips_module() is not None:
        return _render_vips
    if backend not in ("vips", "pillow"):
        raise ValueError(f"unknown image backend {backend!r}")
    return _render_pillow


@contextmanager
def _staged(folder: Path, count: int) -> Iterator[list[Path]]:
    """Temporary names in ``folder``; whatever is still there at the end is removed."""
    paths = [folder / f".derive-{secrets.token_hex(8)}.tmp" for _ in range(count)]
    try:
        yield paths
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def _together(background: Callable[[], object], foreground: Callable[[], object]) -> None:
    """Run both (the encoders release the GIL): the preview encodes while the thumb is made."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="derive") as pool:
        pending = pool.submit(background)
        foreground()
        pending.result()


def fit(size: Size, box: int) -> Size:
    """``size`` scaled to fit in a ``box``×``box`` square; never enlarged."""
    width, height = size
    scale = min(1.0, box / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def display_size(size: Size, orientation: int) -> Size:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


# --- Pillow ------------------------------------------------------------------------------


def _render_pillow(src: Path, mime: str, preview_path: Path, thumb_path: Path) -> Size:
    preview, size = _pillow_preview(src, mime)

    def save_thumb() -> None:
        thumb = preview.resize(fit(preview.size, THUMB_SIZE), Image.Resampling.LANCZOS,
                               reducing_gap=2.0)
        thumb.save(thumb_path, "WEBP", quality=QUALITY, method=THUMB_METHOD)

    _together(lambda: preview.save(preview_path, "WEBP", quality=QUALITY,
                                   method=PREVIEW_METHOD), save_thumb)
    return size


def _pillow_preview(src: Path, mime: str) -> tuple[Image.Image, Size]:
    """Decode (JPEG at a reduced DCT scale) and return the upright sRGB preview."""
    with open_pillow(src, mime) as image:
        stored = image.size
        target = fit(stored, PREVIEW_SIZE)
        if image.format in ("JPEG", "MPO"):
            image.draft(None, target)  # DCT scaling: decode at 1/2, 1/4 or 1/8 size
        _decode(image, mime)
        orientation = pillow_orientation(image, mime)
        icc = image.info.get("icc_profile")
        preview = _shrink(_workable_mode(image), target)
    if orientation in _TRANSPOSE:
        preview = preview.transpose(_TRANSPOSE[orientation])
    return _to_srgb(preview, icc), display_size(stored, orientation)


def _shrink(image: Image.Image, size: Size) -> Image.Image:
    """Box-reduce by the whole factor, then a short bilinear step to the exact size."""
    if image.size == size:
        return image
    factor = min(image.width // size[0], image.height // size[1])
    if factor >= 2:
        image = image.reduce(factor)
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(image.mode)
    if premultiplied is None:
        return _resize_in_bands(image, size)
    return _resize_in_bands(image.convert(premultiplied), size).convert(image.mode)


def _resize_in_bands(image: Image.Image, size: Size) -> Image.Image:
    """Bilinear resize, horizontal bands on separate cores (Pillow releases the GIL).

    The filter reads source rows across band edges, so the result is identical
    to one ``resize`` call.
    """
    bands = max(1, min(_WORKERS, size[1] // 128))
    cuts = [round(size[1] * i / bands) for i in range(bands + 1)]
    scale = image.height / size[1]

    def band(top: int, bottom: int) -> Image.Image:
        return image.resize((size[0], bottom - top), Image.Resampling.BILINEAR,
                            box=(0, top * scale, image.width, bottom * scale))

    if bands == 1:
        return band(0, size[1])
    with ThreadPoolExecutor(max_workers=bands - 1, thread_name_prefix="derive") as pool:
        later = [pool.submit(band, cuts[i], cuts[i + 1]) for i in range(1, bands)]
        pieces = [band(cuts[0], cuts[1]), *(future.result() for future in later)]
    result = Image.new(image.mode, size)
    for top, piece in zip(cuts[:-1], pieces, strict=True):
        result.paste(piece, (0, top))
    return result


def _decode(image: Image.Image, mime: str) -> None:
    """Decode every pixel of the first frame; a short or broken file raises."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge("The image has too many pixels.") from exc
    except _DECODE_ERRORS as exc:
        log.debug("decoding failed: %s", exc)
        raise corrupt(mime) from exc


def _workable_mode(image: Image.Image) -> Image.Image:
    """A mode Pillow resizes well: L, LA, RGB, RGBA or CMYK (16-bit grey scaled, not clipped)."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    if mode.startswith("I;16") or mode == "I":
        return image.convert("I").point(lambda value: value / 257).convert("L")
    if mode == "F":
        return image.convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB: through the embedded ICC profile when it is not sRGB already."""
    mode = "RGBA" if image.mode in ("RGBA", "LA") else "RGB"
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        converted = _icc_to_srgb(image, icc, mode)
        if converted is not None:
            return converted
    return image if image.mode == mode else image.convert(mode)


def _icc_to_srgb(image: Image.Image, icc: bytes, mode: str) -> Image.Image | None:
    global _srgb_profile
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(profile) or "").lower():
            return None
        if _srgb_profile is None:
            _srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        return ImageCms.profileToProfile(image, profile, _srgb_profile, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.debug("ignoring unusable ICC profile: %s", exc)
        return None


# --- libvips -----------------------------------------------------------------------------


def _render_vips(src: Path, mime: str, preview_path: Path, thumb_path: Path) -> Size:
    vips = vips_module()
    header = open_vips(src, mime)
    # Converting through a profile costs ~40 ms: only when one is embedded.
    profile = {"export_profile": "srgb"} if header.get_typeof("icc-profile-data") else {}
    try:
        preview = vips.Image.thumbnail(str(src), PREVIEW_SIZE, height=PREVIEW_SIZE, size="down",
                                       fail_on="truncated", **profile)
        preview = _srgb8(preview).copy_memory()  # decodes everything, now
        thumb = preview.thumbnail_image(THUMB_SIZE, height=THUMB_SIZE, size="down")
        _together(lambda: preview.webpsave(str(preview_path), Q=QUALITY, effort=PREVIEW_METHOD,
                                           keep="none"),
                  lambda: thumb.webpsave(str(thumb_path), Q=QUALITY, effort=THUMB_METHOD,
                                         keep="none"))
    except vips.Error as exc:
        log.debug("libvips failed on %s: %s", src, exc)
        raise corrupt(mime) from exc
    return display_size((header.width, header.height), vips_orientation(header))


def _srgb8(image: Any) -> Any:
    """8-bit sRGB with at most one alpha band, whatever libvips loaded."""
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image.extract_band(0, n=4) if image.bands > 4 else image
