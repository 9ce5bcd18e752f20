"""Pixel plumbing shared by the tools: load with libvips, save in a chosen format.

Tools work on ``pyvips.Image`` values: libvips streams, so a 12-megapixel
resize never holds more than a few scanlines it does not need. Inputs are
rotated upright by their EXIF orientation on load (as ashim does before
every tool). Output formats are named by extension (``jpg``, ``png``,
``webp``, ``avif``, ``tiff``, ``gif``, ``heic``, ``heif``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.tools.base import InputFile, OutputFile, ToolContext, ToolError

MIME_BY_EXT = {
    "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif",
    "tiff": "image/tiff", "gif": "image/gif", "heic": "image/heic", "heif": "image/heif",
    "bmp": "image/bmp", "svg": "image/svg+xml", "pdf": "application/pdf",
    "zip": "application/zip", "ico": "image/png", "json": "application/json",
    "txt": "text/plain",
}
EXT_BY_MIME = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/avif": "avif",
    "image/tiff": "tiff", "image/gif": "gif", "image/heic": "heic", "image/heif": "heif",
    "image/bmp": "png",  # libvips writes no BMP: keep it lossless
}
# Formats that can carry an alpha channel.
ALPHA_FORMATS = {"png", "webp", "avif", "tiff", "gif", "heic", "heif"}


def vips() -> Any:
    from app.media.probe import vips_module

    module = vips_module()
    if module is None:
        raise ToolError("libvips is not installed: image tools need pyvips")
    return module


def load(source: InputFile | Path, *, animated: bool = False, access: str = "random") -> Any:
    """Decode a picture upright (EXIF orientation applied). ``animated`` keeps all frames."""
    path = source.path if isinstance(source, InputFile) else source
    pyvips = vips()
    options: dict[str, Any] = {"access": access, "fail_on": "error"}
    if animated:
        options["n"] = -1
    try:
        image = pyvips.Image.new_from_file(str(path), **options)
    except pyvips.Error as exc:
        raise ToolError(f"cannot decode {Path(path).name}: {_first_line(exc)}") from exc
    if not animated:
        image = image.autorot()
    return image


def output_ext(source: InputFile) -> str:
    """The format a tool that "keeps the input format" writes."""
    return EXT_BY_MIME.get(source.mime, "png")


def stem(name: str) -> str:
    """``"holiday photo.jpg"`` → ``"holiday photo"`` (the name is never a path)."""
    base = Path(name).name
    return Path(base).stem or "image"


def save(ctx: ToolContext, image: Any, name: str, ext: str, *, quality: int | None = None,
         strip: bool = False, **options: Any) -> OutputFile:
    """Encode ``image`` as ``ext`` into the work folder and describe the output."""
    path = ctx.output(f"{stem(name)}.{ext}")
    write(image, path, ext, quality=quality, strip=strip, **options)
    return OutputFile(path, path.name, MIME_BY_EXT[ext])


def write(image: Any, path: Path, ext: str, *, quality: int | None = None, strip: bool = False,
          **options: Any) -> None:
    if ext in ("heic", "heif"):
        path.write_bytes(encode_heic(image, quality=quality, strip=strip))
        return
    image, saver, kwargs = _prepare(image, ext, quality, strip, options)
    _encode_with(lambda: getattr(image, saver)(str(path), **kwargs), ext)


def _prepare(image: Any, ext: str, quality: int | None, strip: bool,
             options: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    """The image (flattened where the format has no alpha), saver name and its options."""
    saver, defaults = _SAVERS.get(ext, (None, {}))
    if saver is None:
        raise ToolError(f"cannot write {ext!r} files")
    kwargs = {**defaults, **options}
    if quality is not None and ext in _LOSSY:
        kwargs["Q"] = int(quality)
    if strip:
        kwargs["keep"] = 0  # VipsForeignKeep NONE: no EXIF, XMP, IPTC, ICC or comments
    if ext not in ALPHA_FORMATS and image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    return image, saver, kwargs


def _encode_with(call: Any, ext: str) -> Any:
    pyvips = vips()
    try:
        return call()
    except pyvips.Error as exc:
        raise ToolError(f"cannot encode {ext.upper()}: {_first_line(exc)}") from exc


_LOSSY = {"jpg", "webp", "avif", "heic", "heif", "tiff"}
_SAVERS: dict[str, tuple[str, dict[str, Any]]] = {
    "jpg": ("jpegsave", {"Q": 90, "optimize_coding": True}),
    "png": ("pngsave", {"compression": 6}),
    "webp": ("webpsave", {"Q": 85}),
    "avif": ("heifsave", {"Q": 50, "compression": "av1", "effort": 4}),
    "heic": ("heifsave", {"Q": 50, "compression": "av1"}),
    "heif": ("heifsave", {"Q": 50, "compression": "av1"}),
    "tiff": ("tiffsave", {"compression": "lzw"}),
    "gif": ("gifsave", {}),
}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


# --- helpers added for the essentials/adjustment/overlay tools -------------------------

HEX6 = r"^#[0-9A-Fa-f]{6}$"  # a settings field pattern: "#RRGGBB"


def hex_rgb(value: str) -> list[float]:
    """``"#FF8000"`` → ``[255.0, 128.0, 0.0]``."""
    text = value.lstrip("#")
    return [float(int(text[i:i + 2], 16)) for i in (0, 2, 4)]


def encode(image: Any, ext: str, *, quality: int | None = None, strip: bool = False,
           **options: Any) -> bytes:
    """``image`` encoded as ``ext`` in memory (what ``write`` would put in a file)."""
    if ext in ("heic", "heif"):
        return encode_heic(image, quality=quality, strip=strip)
    image, saver, kwargs = _prepare(image, ext, quality, strip, options)
    return bytes(_encode_with(lambda: getattr(image, f"{saver}_buffer")(**kwargs), ext))


def encode_heic(image: Any, *, quality: int | None = None, strip: bool = False) -> bytes:
    """HEVC-coded HEIF through pillow_heif (this libvips build has no HEVC encoder)."""
    import io

    import pillow_heif
    from PIL import Image

    image = to_srgb8(image)
    mode = "RGBA" if image.hasalpha() else "RGB"
    picture = Image.frombytes(mode, (image.width, image.height), image.write_to_memory())
    exif = None if strip or "exif-data" not in image.get_fields() else image.get("exif-data")
    buffer = io.BytesIO()
    heif = pillow_heif.from_pillow(picture)
    heif.save(buffer, quality=int(quality if quality is not None else 50), exif=exif)
    return buffer.getvalue()


def to_srgb8(image: Any) -> Any:
    """Three (or four, with alpha) 8-bit sRGB bands, whatever the input's interpretation."""
    if image.interpretation not in ("srgb",) or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands == 2:  # grey + alpha that colourspace left alone
        image = image[0].bandjoin([image[0], image[0], image[1]])
    elif image.bands == 1:
        image = image.bandjoin([image, image])
    return image


def renamed(input_name: str, ext: str, tool_id: str) -> str:
    """ashim's naming for format-changing tools: the stem for the new extension, plus
    ``_<toolId>`` when the name would not change."""
    base = stem(input_name)
    return f"{base}_{tool_id}" if f"{base}.{ext}" == Path(input_name).name else base
