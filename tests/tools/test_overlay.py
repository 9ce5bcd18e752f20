"""Watermark and overlay tools on real pictures: watermark-text, watermark-image,
text-overlay, and the text renderer they share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from app.tools import fonts, imaging
from app.tools.base import CanvasTooLarge, get_tool
from tests.tools.helpers import bad_field, pixels, run_tool, sample


@pytest.fixture
def grey(tmp_path: Path) -> Path:
    """A flat mid-grey 600 × 400 JPEG: any drawn pixel shows."""
    path = tmp_path / "grey.jpg"
    Image.new("RGB", (600, 400), (128, 128, 128)).save(path, quality=100)
    return path


def changed(before: np.ndarray, after: np.ndarray, limit: int = 12) -> np.ndarray:
    return np.abs(after - before).max(axis=2) > limit


# --- the text renderer --------------------------------------------------------------------

def test_dejavu_font_is_found() -> None:
    path = fonts.font_path()
    assert path is not None and path.name.startswith("DejaVuSans") and path.is_file()


def test_pillow_fallback_renders_and_wraps() -> None:
    single = fonts._pillow_text(imaging.vips(), "Salon", 40, None)
    wrapped = fonts._pillow_text(imaging.vips(), "Salon gallery of pictures", 40, 220)
    assert single.max() == 255 and single.height < 60
    assert wrapped.width <= 220 and wrapped.height > 2 * single.height


def test_fallback_is_used_when_libvips_cannot_render(monkeypatch: pytest.MonkeyPatch) -> None:
    pyvips = imaging.vips()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise pyvips.Error("no pango")

    monkeypatch.setattr(fonts, "_vips_text", broken)
    mask = fonts.text_mask("fallback", 30)
    assert mask.bands == 1 and mask.max() == 255


def test_markup_characters_are_drawn_not_interpreted() -> None:
    mask = fonts.text_mask("<b>&amp;</b>", 30)
    plain = fonts.text_mask("&amp;", 30)
    assert mask.width > plain.width * 1.5


# --- watermark-text -----------------------------------------------------------------------

def test_watermark_text_centre(tmp_path: Path, grey: Path) -> None:
    result = run_tool("watermark-text", [grey], {"text": "SALON", "fontSize": 80,
                                                 "color": "#FF0000", "opacity": 100},
                      workdir=tmp_path)
    out = result.files[0]
    assert out.name == "grey_watermark-text.png"
    assert out.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = changed(pixels(grey), pixels(out.path))
    ys, xs = np.nonzero(drawn)
    assert abs(xs.mean() - 300) < 30 and abs(ys.mean() - 200) < 30
    assert not drawn[:100].any() and not drawn[:, :100].any()
    red = pixels(out.path)[drawn]
    assert (red[:, 0] > 200).mean() > 0.5 and (red[:, 1] < 60).mean() > 0.5


def test_watermark_text_opacity_blends(tmp_path: Path, grey: Path) -> None:
    result = run_tool("watermark-text", [grey], {"text": "█████", "fontSize": 60,
                                                 "color": "#FFFFFF", "opacity": 50},
                      workdir=tmp_path)
    out = pixels(result.files[0].path)
    assert out.max() <= 200  # half white over mid-grey, never full white
    assert out.max() >= 180


def test_watermark_text_corner(tmp_path: Path, grey: Path) -> None:
    result = run_tool("watermark-text", [grey], {"text": "© me", "position": "bottom-right",
                                                 "opacity": 100}, workdir=tmp_path)
    ys, xs = np.nonzero(changed(pixels(grey), pixels(result.files[0].path)))
    assert xs.min() > 350 and ys.min() > 250


def test_watermark_text_tiled_covers_the_picture(tmp_path: Path, grey: Path) -> None:
    result = run_tool("watermark-text", [grey], {"text": "draft", "fontSize": 20,
                                                 "position": "tiled", "rotation": -30,
                                                 "opacity": 100}, workdir=tmp_path)
    assert result.data["copies"] == 5 * 5  # 600/120 × 400/80
    drawn = changed(pixels(grey), pixels(result.files[0].path))
    for quadrant in (drawn[:200, :300], drawn[:200, 300:], drawn[200:, :300], drawn[200:, 300:]):
        assert quadrant.any()


def test_watermark_text_refuses_a_huge_canvas(tmp_path: Path, grey: Path) -> None:
    with pytest.raises(CanvasTooLarge):
        run_tool("watermark-text", [grey], {"text": "x" * 500, "fontSize": 1000,
                                            "position": "tiled"}, workdir=tmp_path)


def test_watermark_text_settings_name_the_field() -> None:
    assert ("text",) in bad_field("watermark-text", {"text": ""})
    assert ("text",) in bad_field("watermark-text", {"text": "x" * 501})
    assert ("fontSize",) in bad_field("watermark-text", {"text": "a", "fontSize": 7})
    assert ("color",) in bad_field("watermark-text", {"text": "a", "color": "black"})
    assert ("position",) in bad_field("watermark-text", {"text": "a", "position": "middle"})
    assert ("rotation",) in bad_field("watermark-text", {"text": "a", "rotation": 361})


# --- watermark-image ----------------------------------------------------------------------

def test_watermark_image_places_the_logo(tmp_path: Path, grey: Path) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (100, 50), (0, 0, 255)).save(logo)
    result = run_tool("watermark-image", [grey], {"opacity": 100, "scale": 20},
                      extra={"watermark": logo}, workdir=tmp_path)
    out = result.files[0]
    assert out.name == "grey_watermark-image.jpg"
    picture = pixels(out.path)
    assert (result.data["width"], result.data["height"]) == (120, 60)
    x, y = result.data["x"], result.data["y"]
    assert x + 120 <= 600 and y + 60 <= 400 and x > 400 and y > 300  # bottom right
    assert np.abs(picture[y + 30, x + 60] - [0, 0, 255]).max() < 40
    assert np.abs(picture[20, 20] - [128, 128, 128]).max() < 4


def test_watermark_image_opacity_and_alpha(tmp_path: Path) -> None:
    base = sample("astronaut", tmp_path)
    logo = tmp_path / "ring.png"
    ring = np.zeros((64, 64, 4), np.uint8)
    ring[..., :3] = 255
    ring[16:48, 16:48, 3] = 255  # opaque white square inside a transparent frame
    Image.fromarray(ring).save(logo)
    result = run_tool("watermark-image", [base], {"position": "center", "opacity": 50,
                                                  "scale": 25},
                      extra={"watermark": logo}, workdir=tmp_path)
    before, after = pixels(base), pixels(result.files[0].path)
    centre, frame = (256, 256), (256 - 60, 256)
    expected = (before[centre] + 255) / 2
    assert np.abs(after[centre] - expected).max() <= 3
    assert np.abs(after[frame] - before[frame]).max() <= 1


def test_watermark_image_settings_name_the_field() -> None:
    assert ("scale",) in bad_field("watermark-image", {"scale": 0})
    assert ("position",) in bad_field("watermark-image", {"position": "tiled"})
    tool = get_tool("watermark-image")
    assert tool is not None and tool.inputs.extra == ("watermark",)


# --- text-overlay -------------------------------------------------------------------------

def test_text_overlay_bottom_with_box(tmp_path: Path, grey: Path) -> None:
    result = run_tool("text-overlay", [grey], {"text": "Caption", "backgroundBox": True,
                                               "shadow": False}, workdir=tmp_path)
    out = result.files[0]
    assert out.name == "grey_text-overlay.jpg"
    picture = pixels(out.path)
    top = result.data["top"]
    assert top > 250
    # The box spans the full width at 70 % black over grey: 128 × 0.3 ≈ 38.
    assert abs(picture[top + 3, 2].mean() - 38) < 8
    assert abs(picture[top + 3, 597].mean() - 38) < 8
    assert np.abs(picture[100, 300] - [128, 128, 128]).max() < 4
    assert (picture[top:, :].max(axis=2) > 230).any()  # white text on the box


def test_text_overlay_top_is_centred(tmp_path: Path, grey: Path) -> None:
    result = run_tool("text-overlay", [grey], {"text": "Hi", "position": "top",
                                               "color": "#00FF00", "fontSize": 40},
                      workdir=tmp_path)
    assert result.data["top"] == 0
    drawn = changed(pixels(grey), pixels(result.files[0].path))
    ys, xs = np.nonzero(drawn)
    assert ys.max() < 100 and abs(xs.mean() - 300) < 25


def test_text_overlay_long_text_wraps_inside(tmp_path: Path, grey: Path) -> None:
    result = run_tool("text-overlay", [grey], {"text": "a long caption " * 8, "fontSize": 30},
                      workdir=tmp_path)
    assert result.data["textWidth"] <= 600
    assert result.data["textHeight"] > 60


def test_text_overlay_refuses_a_huge_canvas(tmp_path: Path, grey: Path) -> None:
    with pytest.raises(CanvasTooLarge):
        run_tool("text-overlay", [grey], {"text": "caption"}, workdir=tmp_path,
                 max_pixels=1_000)


def test_text_overlay_settings_name_the_field() -> None:
    assert ("fontSize",) in bad_field("text-overlay", {"text": "a", "fontSize": 201})
    assert ("position",) in bad_field("text-overlay", {"text": "a", "position": "left"})
    assert ("backgroundColor",) in bad_field("text-overlay",
                                             {"text": "a", "backgroundColor": "#GGGGGG"})
    assert ("text",) in bad_field("text-overlay", {})
