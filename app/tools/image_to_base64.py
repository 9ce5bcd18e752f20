"""image-to-base64: pictures as base64 text and data URIs, optionally re-encoded and shrunk."""

from __future__ import annotations

import base64
from typing import Any, Literal

from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import (
    InputFile,
    InputSpec,
    ToolContext,
    ToolError,
    ToolResult,
    ToolSettings,
    tool,
)

# Formats a browser shows inline; anything else is re-encoded as JPEG when "original" is asked.
INLINE = {"image/jpeg", "image/png", "image/webp", "image/avif", "image/gif"}
BUFFER_SAVERS = {"jpg": "jpegsave_buffer", "png": "pngsave_buffer", "webp": "webpsave_buffer",
                 "avif": "heifsave_buffer", "gif": "gifsave_buffer"}


class ImageToBase64Settings(ToolSettings):
    outputFormat: Literal["original", "jpeg", "png", "webp", "avif"] = Field(
        "original", description="Re-encode as this format, or keep the original bytes.")
    quality: int = Field(80, ge=1, le=100, description="Quality of a lossy re-encoding.")
    maxWidth: int = Field(0, ge=0, description="Shrink to at most this width (0: no limit).")
    maxHeight: int = Field(0, ge=0, description="Shrink to at most this height (0: no limit).")


@tool("image-to-base64", title="Image to Base64", category="utilities",
      settings=ImageToBase64Settings, inputs=InputSpec(min_files=1, max_files=50),
      description="Encode pictures as base64 and data URIs for embedding in HTML or CSS.")
@_canvas.vips_errors
def image_to_base64(ctx: ToolContext, s: ImageToBase64Settings) -> ToolResult:
    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for index, source in enumerate(ctx.inputs):
        ctx.progress(index / len(ctx.inputs), f"encoding {source.name}")
        try:
            results.append(encode(source, s))
        except ToolError as exc:
            errors.append({"filename": source.name, "error": exc.message})
    return ToolResult(data={"results": results, "errors": errors})


def encode(source: InputFile, s: ImageToBase64Settings) -> dict[str, Any]:
    image = imaging.load(source)
    shrink = needs_shrink(image, s)
    if s.outputFormat == "original" and not shrink and source.mime in INLINE:
        mime, payload = source.mime, source.path.read_bytes()
        width, height = image.width, image.height
    else:
        if shrink:
            image = image.thumbnail_image(s.maxWidth or image.width,
                                          height=s.maxHeight or image.height)
        ext = target_ext(source, s)
        mime, payload = imaging.MIME_BY_EXT[ext], to_buffer(image, ext, s.quality)
        width, height = image.width, image.height
    text = base64.b64encode(payload).decode()
    original = source.path.stat().st_size
    return {"filename": source.name, "mimeType": mime, "width": width, "height": height,
            "originalSize": original, "encodedSize": len(text),
            "overheadPercent": round(100 * (len(text) - original) / original, 1),
            "base64": text, "dataUri": f"data:{mime};base64,{text}"}


def needs_shrink(image: Any, s: ImageToBase64Settings) -> bool:
    return bool((s.maxWidth and image.width > s.maxWidth)
                or (s.maxHeight and image.height > s.maxHeight))


def target_ext(source: InputFile, s: ImageToBase64Settings) -> str:
    if s.outputFormat != "original":
        return _canvas.EXT[s.outputFormat]
    ext = imaging.EXT_BY_MIME.get(source.mime, "jpg")
    return ext if ext in BUFFER_SAVERS else "jpg"  # HEIC, TIFF ... become JPEG


def to_buffer(image: Any, ext: str, quality: int) -> bytes:
    pyvips = imaging.vips()
    if ext == "jpg" and image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    options: dict[str, Any] = {"Q": quality} if ext in ("jpg", "webp", "avif") else {}
    if ext == "avif":
        options["compression"] = "av1"
    try:
        return bytes(getattr(image, BUFFER_SAVERS[ext])(**options))
    except pyvips.Error as exc:
        raise ToolError(f"cannot encode {ext.upper()}: {str(exc).strip()[:200]}") from exc
