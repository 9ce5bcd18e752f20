"""pdf-to-image: render PDF pages to pictures (pypdfium2), one file or a ZIP of pages."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from app.tools import _canvas, imaging
from app.tools.base import (
    InputSpec,
    OutputFile,
    ToolContext,
    ToolError,
    ToolResult,
    ToolSettings,
    tool,
)

# Longer documents are refused before anything is rendered.
MAX_PDF_PAGES = 200
POINTS_PER_INCH = 72
PAGES_PATTERN = re.compile(r"^\s*\d+\s*(-\s*\d+\s*)?(,\s*\d+\s*(-\s*\d+\s*)?)*$")
# PDFium keeps global state and is not thread-safe: one document at a time per process.
_PDFIUM = threading.Lock()


class PdfToImageSettings(ToolSettings):
    format: Literal["png", "jpg", "webp", "avif", "tiff", "gif", "heic", "heif"] = Field(
        "png", description="Format of the page pictures.")
    dpi: int = Field(150, ge=36, le=2400, description="Rendering resolution.")
    quality: int = Field(85, ge=1, le=100, description="Quality of lossy formats.")
    colorMode: Literal["color", "grayscale", "bw"] = Field("color", description="Colour, grey "
                                                                                "or black/white.")
    pages: str = Field("all", description='Pages to render: "all" or a list such as "1,3-5".')

    @field_validator("pages")
    @classmethod
    def _page_list(cls, value: str) -> str:
        if value.strip().lower() == "all":
            return "all"
        if not PAGES_PATTERN.match(value):
            raise ValueError('use "all" or page numbers and ranges such as "1,3-5"')
        for part in value.split(","):
            first, _, last = part.partition("-")
            if int(first) < 1 or (last and int(last) < int(first)):
                raise ValueError(f"{part.strip()!r}: pages are numbered from 1 and ranges go "
                                 "upwards")
        return value


@tool("pdf-to-image", title="PDF to image", category="format", settings=PdfToImageSettings,
      inputs=InputSpec(accepts=("pdf",)),
      description="Render the pages of a PDF as pictures.")
@_canvas.vips_errors
def pdf_to_image(ctx: ToolContext, s: PdfToImageSettings) -> ToolResult:
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(str(ctx.input.path))
        except pdfium.PdfiumError as exc:
            raise ToolError(f"cannot open the PDF: {exc}") from exc
        try:
            return render_document(ctx, document, s)
        finally:
            document.close()


def render_document(ctx: ToolContext, document: Any, s: PdfToImageSettings) -> ToolResult:
    count = len(document)
    if count > MAX_PDF_PAGES:
        raise ToolError(f"the PDF has {count:,} pages; at most {MAX_PDF_PAGES} can be "
                        "converted")
    numbers = selected_pages(s.pages, count)
    scale = s.dpi / POINTS_PER_INCH
    for number in numbers:
        width, height = document[number - 1].get_size()
        ctx.check_canvas(width * scale, height * scale)
    base = imaging.stem(ctx.input.name)
    data = {"pageCount": count, "selectedPages": numbers, "format": s.format}
    if len(numbers) == 1:
        out = imaging.save(ctx, render_page(document, numbers[0], scale, s.colorMode),
                           f"{base}_page{numbers[0]}", s.format, quality=s.quality)
        return ToolResult(files=[out], data=data)
    path = ctx.output(f"{base}_pages.zip")
    _canvas.write_zip(path, page_files(ctx, document, numbers, base, s))
    return ToolResult(files=[OutputFile(path, path.name, "application/zip")], data=data)


def selected_pages(pages: str, count: int) -> list[int]:
    """1-based page numbers in the order given, without repeats."""
    if pages == "all":
        return list(range(1, count + 1))
    numbers: list[int] = []
    for part in pages.split(","):
        first, _, last = part.partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    missing = [n for n in numbers if n > count]
    if missing:
        raise ToolError(f"pages: the PDF has {count} page(s); there is no page {missing[0]}")
    return list(dict.fromkeys(numbers))


def render_page(document: Any, number: int, scale: float, mode: str) -> Any:
    page = document[number - 1]
    bitmap = page.render(scale=scale, rev_byteorder=True, grayscale=mode != "color")
    # A copy: PDFium frees the bitmap's buffer when the bitmap goes; libvips keeps a
    # reference to the array it is given.
    pixels = np.array(bitmap.to_numpy(), dtype=np.uint8, order="C", copy=True)
    bitmap.close()
    bands = 1 if pixels.ndim == 2 else pixels.shape[2]
    image = imaging.vips().Image.new_from_memory(pixels, pixels.shape[1], pixels.shape[0],
                                                 bands, "uchar")
    if mode == "bw":
        return (image[0] > 127).ifthenelse(255, 0).cast("uchar").copy(interpretation="b-w")
    return image.copy(interpretation="b-w" if bands == 1 else "srgb")


def page_files(ctx: ToolContext, document: Any, numbers: list[int], base: str,
               s: PdfToImageSettings) -> Iterator[tuple[str, Path]]:
    scale = s.dpi / POINTS_PER_INCH
    for position, number in enumerate(numbers):
        ctx.progress(position / len(numbers), f"page {number}")
        name = f"{base}_page{number}.{s.format}"
        path = ctx.output(f"tmp_{name}")
        imaging.write(render_page(document, number, scale, s.colorMode), path, s.format,
                      quality=s.quality)
        yield name, path
