"""qr-generate: a QR code picture for a text (no input picture)."""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
import qrcode
import qrcode.constants
from pydantic import Field

from app.tools import _canvas, imaging
from app.tools.base import (
    PREVIEW_SIZE,
    InputSpec,
    OutputFile,
    ToolContext,
    ToolError,
    ToolResult,
    ToolSettings,
    tool,
)

ERROR_CORRECTION = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
                    "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
MARGIN = 2  # quiet-zone modules around the code, as ashim


class QrGenerateSettings(ToolSettings):
    text: str = Field(min_length=1, max_length=2000, description="What the code encodes.")
    size: int = Field(400, ge=100, le=10000, description="Width and height in pixels.")
    errorCorrection: Literal["L", "M", "Q", "H"] = Field(
        "M", description="Error correction level: L 7 %, M 15 %, Q 25 %, H 30 % recoverable.")
    foreground: _canvas.Hex6 = Field("#000000", description="Colour of the dark modules.")
    background: _canvas.Hex6 = Field("#FFFFFF", description="Colour of the light modules.")

    def for_preview(self, scale_x: float, scale_y: float) -> Self:
        # The live preview needs no 10,000-pixel code: the same code, at most 480 across.
        return self.model_copy(update={"size": min(self.size, PREVIEW_SIZE)})


@tool("qr-generate", title="QR code", category="utilities", settings=QrGenerateSettings,
      inputs=InputSpec(min_files=0, max_files=0), cheap=True,
      description="Make a QR code picture for a text or a link.")
@_canvas.vips_errors
def qr_generate(ctx: ToolContext, s: QrGenerateSettings) -> ToolResult:
    ctx.check_canvas(s.size, s.size)
    modules = qr_matrix(s.text, s.errorCorrection)
    ctx.progress(0.4, "drawing")
    image = render(modules, s.size, _canvas.rgb(s.foreground), _canvas.rgb(s.background))
    path = ctx.output("qrcode.png")
    imaging.write(image, path, "png")
    return ToolResult(files=[OutputFile(path, path.name, "image/png")],
                      data={"size": s.size, "modules": int(modules.shape[0]),
                            "errorCorrection": s.errorCorrection})


def qr_matrix(text: str, level: str) -> np.ndarray:
    """The code's modules (True = dark), quiet zone included."""
    code = qrcode.QRCode(border=MARGIN, error_correction=ERROR_CORRECTION[level])
    code.add_data(text)
    try:
        code.make(fit=True)
    except qrcode.exceptions.DataOverflowError as exc:
        raise ToolError(f"the text is too long for a QR code at error correction {level}; "
                        "choose a lower level or a shorter text") from exc
    return np.array(code.get_matrix(), dtype=bool)


def render(modules: np.ndarray, size: int, dark: list[float], light: list[float]) -> Any:
    """Scale the module grid to ``size`` pixels with nearest-neighbour sampling (sharp edges)."""
    pyvips = imaging.vips()
    count = modules.shape[0]
    grid = pyvips.Image.new_from_memory(np.ascontiguousarray(modules, dtype=np.uint8).data,
                                        count, count, 1, "uchar")
    # Each output pixel takes the module it falls in: index = pixel × count / size.
    index = (pyvips.Image.xyz(size, size) * count / size).cast("int")
    mask = grid.mapim(index.cast("float"), interpolate=pyvips.Interpolate.new("nearest"))
    return (mask > 0).ifthenelse(dark, light).cast("uchar").copy(interpretation="srgb")
