"""image-to-pdf: one page per picture, scaled to fit inside the margins and centred."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

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

MAX_FILES = 200
# Page sizes in PDF points (1/72 inch), portrait.
PAGE_SIZES = {"A4": (595.28, 841.89), "Letter": (612.0, 792.0), "A3": (841.89, 1190.55),
              "A5": (419.53, 595.28)}


class ImageToPdfSettings(ToolSettings):
    pageSize: Literal["A4", "Letter", "A3", "A5"] = Field("A4", description="Paper size.")
    orientation: Literal["portrait", "landscape"] = Field("portrait",
                                                          description="Page orientation.")
    margin: float = Field(20, ge=0, le=500, description="Margin in points (1/72 inch).")

    @model_validator(mode="after")
    def _room_left(self) -> ImageToPdfSettings:
        width, height = page_size(self)
        if 2 * self.margin >= min(width, height):
            raise ValueError(f"a margin of {self.margin:g} pt leaves no room on a "
                             f"{self.pageSize} page")
        return self


def page_size(s: ImageToPdfSettings) -> tuple[float, float]:
    width, height = PAGE_SIZES[s.pageSize]
    return (height, width) if s.orientation == "landscape" else (width, height)


def placement(image_w: int, image_h: int, page: tuple[float, float],
              margin: float) -> tuple[float, float, float, float]:
    """(x, y, width, height) in points: fitted inside the margins, centred."""
    room_w, room_h = page[0] - 2 * margin, page[1] - 2 * margin
    scale = min(room_w / image_w, room_h / image_h)
    width, height = image_w * scale, image_h * scale
    return (page[0] - width) / 2, (page[1] - height) / 2, width, height


def _embeddable_jpeg(source: InputFile, image: Any) -> bool:
    """A JPEG that can go into the PDF as it is: upright already, RGB or grey."""
    if source.mime != "image/jpeg" or image.interpretation not in ("srgb", "b-w"):
        return False
    fields = image.get_fields()
    return "orientation" not in fields or image.get("orientation") == 1


def picture_object(pdf: Any, source: InputFile) -> tuple[Any, int, int]:
    """A pdfium image object for ``source`` and its pixel size."""
    import pypdfium2 as pdfium
    from PIL import Image

    image = imaging.vips().Image.new_from_file(str(source.path), access="sequential")
    obj = pdfium.PdfImage.new(pdf)
    if _embeddable_jpeg(source, image):
        obj.load_jpeg(str(source.path), inline=True)  # the JPEG bytes as they are
        return obj, image.width, image.height
    pixels = imaging.to_srgb8(imaging.load(source))
    if pixels.hasalpha():
        pixels = pixels.flatten(background=[255, 255, 255])
    picture = Image.frombytes("RGB", (pixels.width, pixels.height), pixels.write_to_memory())
    obj.set_bitmap(pdfium.PdfBitmap.from_pil(picture))  # lossless, Flate-compressed
    return obj, pixels.width, pixels.height


@tool("image-to-pdf", title="Images to PDF", category="format", settings=ImageToPdfSettings,
      inputs=InputSpec(min_files=1, max_files=MAX_FILES),
      description="Put pictures into one PDF, one page each, fitted inside the margins.")
def image_to_pdf(ctx: ToolContext, s: ImageToPdfSettings) -> ToolResult:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    size = page_size(s)
    for number, source in enumerate(ctx.inputs, start=1):
        obj, width, height = picture_object(pdf, source)
        x, y, w, h = placement(width, height, size, s.margin)
        obj.set_matrix(pdfium.PdfMatrix().scale(w, h).translate(x, y))
        page = pdf.new_page(*size)
        page.insert_obj(obj)
        page.gen_content()
        ctx.progress(number / len(ctx.inputs), f"page {number}")
    path = ctx.output("images.pdf")
    pdf.save(str(path))
    pdf.close()
    original = sum(source.path.stat().st_size for source in ctx.inputs)
    return ToolResult(files=[OutputFile(path, path.name, "application/pdf")],
                      data={"pages": len(ctx.inputs), "originalSize": original,
                            "processedSize": path.stat().st_size})
