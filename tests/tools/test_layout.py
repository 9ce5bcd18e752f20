"""Layout and composition tools on real pictures: compose, collage, stitch, split, border."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from app.tools.base import CanvasTooLarge, ToolError, get_tool
from app.tools.collage import TEMPLATES
from tests.tools.helpers import run_tool, sample


def decoded(path: Path) -> Image.Image:
    """The decoded picture, its file closed."""
    with Image.open(path) as image:
        image.load()
        return image


def solid(tmp_path: Path, name: str, size: tuple[int, int], color: tuple[int, ...]) -> Path:
    path = tmp_path / f"{name}.png"
    Image.new("RGBA" if len(color) == 4 else "RGB", size, color).save(path)
    return path


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(actual, expected, strict=False))


def bad_fields(tool_id: str, settings: dict, tmp_path: Path, files: list[Path]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        run_tool(tool_id, files, settings, workdir=tmp_path)
    return {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


# --- compose --------------------------------------------------------------------------------

def test_compose_places_the_overlay_at_its_position(tmp_path: Path) -> None:
    base = sample("astronaut", tmp_path)
    overlay = solid(tmp_path, "red", (100, 50), (255, 0, 0))
    result = run_tool("compose", [base], {"x": 200, "y": 300}, extra={"overlay": overlay},
                      workdir=tmp_path)
    out = decoded(result.files[0].path).convert("RGB")
    original = decoded(base).convert("RGB")
    assert result.files[0].name == "astronaut_compose.png" and out.size == (512, 512)
    assert out.getpixel((250, 320)) == (255, 0, 0)
    assert out.getpixel((199, 320)) == original.getpixel((199, 320))
    assert out.getpixel((250, 351)) == original.getpixel((250, 351))


def test_compose_opacity_and_multiply(tmp_path: Path) -> None:
    base = solid(tmp_path, "grey", (80, 80), (200, 200, 200))
    overlay = solid(tmp_path, "blue", (40, 40), (0, 0, 255))
    half = run_tool("compose", [base], {"opacity": 50}, extra={"overlay": overlay},
                    workdir=tmp_path)
    assert near(decoded(half.files[0].path).convert("RGB").getpixel((10, 10)),
                (100, 100, 227), 2)
    multiplied = run_tool("compose", [base], {"blendMode": "multiply"},
                          extra={"overlay": overlay}, workdir=tmp_path)
    pixels = decoded(multiplied.files[0].path).convert("RGB")
    assert near(pixels.getpixel((10, 10)), (0, 0, 200), 2)
    assert pixels.getpixel((60, 60)) == (200, 200, 200)


def test_compose_refuses_bad_settings_and_an_overlay_outside(tmp_path: Path) -> None:
    base = sample("camera", tmp_path)
    assert bad_fields("compose", {"opacity": 101, "blendMode": "glow"}, tmp_path,
                      [base]) == {"opacity", "blendMode"}
    with pytest.raises(ToolError, match="outside"):
        run_tool("compose", [base], {"x": 600}, extra={"overlay": base}, workdir=tmp_path)


# --- collage --------------------------------------------------------------------------------

def test_collage_has_the_23_templates() -> None:
    assert len(TEMPLATES) == 23
    for template_id, cells in TEMPLATES.items():
        assert int(template_id.split("-")[0]) == len(cells)
        area = sum(w * h for _, _, w, h in cells)
        assert area == pytest.approx(1.0), template_id  # cells tile the canvas


def test_collage_places_pictures_in_their_cells(tmp_path: Path) -> None:
    red = solid(tmp_path, "red", (300, 200), (255, 0, 0))
    green = solid(tmp_path, "green", (200, 300), (0, 255, 0))
    result = run_tool("collage", [red, green],
                      {"templateId": "2-h-equal", "gap": 20, "backgroundColor": "#0000FF",
                       "aspectRatio": "16:9"}, workdir=tmp_path)
    out = decoded(result.files[0].path).convert("RGB")
    assert out.size == (2400, 1350) and result.files[0].name == "collage.png"
    assert out.getpixel((10, 600)) == (0, 0, 255)  # outer gap
    assert out.getpixel((600, 600)) == (255, 0, 0)
    assert out.getpixel((1200, 600)) == (0, 0, 255)  # gap between the cells
    assert out.getpixel((1800, 600)) == (0, 255, 0)
    assert out.getpixel((2395, 600)) == (0, 0, 255)


def test_collage_cells_choose_pictures_and_contain_leaves_background(tmp_path: Path) -> None:
    red = solid(tmp_path, "red", (100, 100), (255, 0, 0))
    wide = solid(tmp_path, "wide", (400, 100), (0, 255, 0))
    cells = [{"imageIndex": 1, "objectFit": "contain"}, {"imageIndex": 0}]
    result = run_tool("collage", [red, wide],
                      {"templateId": "2-v-equal", "cells": cells, "gap": 0,
                       "aspectRatio": "1:1", "backgroundColor": "transparent"},
                      workdir=tmp_path)
    out = decoded(result.files[0].path)
    assert out.size == (2400, 2400) and out.mode == "RGBA"
    assert out.getpixel((1200, 600)) == (0, 255, 0, 255)  # the wide picture, contained
    assert out.getpixel((1200, 50))[3] == 0  # above it: transparent background
    assert out.getpixel((1200, 1800)) == (255, 0, 0, 255)


def test_collage_settings_are_checked(tmp_path: Path) -> None:
    photo = sample("chelsea", tmp_path)
    assert bad_fields("collage", {"templateId": "10-grid"}, tmp_path, [photo]) == {"templateId"}
    assert bad_fields("collage", {"templateId": "4-grid", "cells": [{"imageIndex": 0,
                                                                     "zoom": 20}]},
                      tmp_path, [photo]) == {"cells.0.zoom"}
    with pytest.raises(ToolError, match=r"cells\[0\].imageIndex"):
        run_tool("collage", [photo], {"templateId": "4-grid", "cells": [{"imageIndex": 3}]},
                 workdir=tmp_path)
    with pytest.raises(CanvasTooLarge):
        run_tool("collage", [photo], {"templateId": "4-grid"}, workdir=tmp_path,
                 max_pixels=1_000_000)


# --- stitch ---------------------------------------------------------------------------------

def test_stitch_horizontal_fits_to_the_smallest_height(tmp_path: Path) -> None:
    red = solid(tmp_path, "red", (200, 100), (255, 0, 0))
    green = solid(tmp_path, "green", (100, 200), (0, 255, 0))
    result = run_tool("stitch", [red, green], {"gap": 10, "backgroundColor": "#0000FF"},
                      workdir=tmp_path)
    out = decoded(result.files[0].path).convert("RGB")
    assert result.files[0].name == "stitch.png"
    assert out.size == (200 + 10 + 50, 100)
    assert out.getpixel((100, 50)) == (255, 0, 0)
    assert out.getpixel((205, 50)) == (0, 0, 255)
    assert out.getpixel((235, 50)) == (0, 255, 0)


def test_stitch_vertical_original_sizes_with_border_and_alignment(tmp_path: Path) -> None:
    photos = [sample("chelsea", tmp_path), sample("camera", tmp_path)]
    result = run_tool("stitch", photos, {"direction": "vertical", "resizeMode": "original",
                                         "alignment": "start", "border": 5, "format": "jpeg"},
                      workdir=tmp_path)
    out = decoded(result.files[0].path)
    assert out.format == "JPEG" and out.size == (512 + 10, 300 + 512 + 10)
    assert near(out.convert("RGB").getpixel((500, 100)), (255, 255, 255), 6)  # beside chelsea


def test_stitch_grid_crop_makes_equal_cells(tmp_path: Path) -> None:
    photos = [sample(name, tmp_path) for name in ("astronaut", "chelsea", "coffee")]
    result = run_tool("stitch", photos, {"direction": "grid", "gridColumns": 2,
                                         "resizeMode": "crop", "gap": 4}, workdir=tmp_path)
    out = decoded(result.files[0].path).convert("RGB")
    assert out.size == (2 * 451 + 4, 2 * 300 + 4)
    assert out.getpixel((700, 450)) == (255, 255, 255)  # the empty fourth cell


def test_stitch_refuses_a_huge_canvas_before_drawing(tmp_path: Path) -> None:
    photos = [sample("astronaut", tmp_path)] * 2
    assert bad_fields("stitch", {"gap": 50_000}, tmp_path, photos) == {"gap"}
    with pytest.raises(CanvasTooLarge):
        run_tool("stitch", photos * 50, {"resizeMode": "original"}, workdir=tmp_path,
                 max_pixels=10_000_000)


# --- split ----------------------------------------------------------------------------------

def test_split_cuts_tiles_and_the_last_ones_absorb_the_remainder(tmp_path: Path) -> None:
    photo = sample("chelsea", tmp_path)  # 451 × 300
    result = run_tool("split", [photo], {"columns": 4, "rows": 2}, workdir=tmp_path)
    assert result.files[0].name == "chelsea_split.zip" and result.data["tiles"] == 8
    with zipfile.ZipFile(result.files[0].path) as archive:
        names = archive.namelist()
        assert names[0] == "chelsea_r1_c1.png" and "chelsea_r2_c4.png" in names
        assert len(names) == 8
        last = Image.open(archive.open("chelsea_r2_c4.png"))
        first = Image.open(archive.open("chelsea_r1_c1.png")).convert("RGB")
    assert first.size == (112, 150) and last.size == (451 - 3 * 112, 150)
    assert first.getpixel((5, 5)) == decoded(photo).convert("RGB").getpixel((5, 5))
    assert [p.name for p in result.files[0].path.parent.iterdir()] == ["chelsea_split.zip"]


def test_split_by_tile_size_and_format(tmp_path: Path) -> None:
    photo = sample("astronaut", tmp_path)
    result = run_tool("split", [photo], {"tileWidth": 200, "tileHeight": 256,
                                         "outputFormat": "webp"}, workdir=tmp_path)
    with zipfile.ZipFile(result.files[0].path) as archive:
        sizes = {n: Image.open(archive.open(n)).size for n in archive.namelist()}
    assert len(sizes) == 6 and all(n.endswith(".webp") for n in sizes)
    assert sizes["astronaut_r1_c1.webp"] == (200, 256)
    assert sizes["astronaut_r2_c3.webp"] == (112, 256)
    assert bad_fields("split", {"tileWidth": 5, "columns": 0}, tmp_path,
                      [photo]) == {"tileWidth", "columns"}
    assert get_tool("split") is not None and not get_tool("split").pipeline


# --- border ---------------------------------------------------------------------------------

def test_border_adds_padding_then_border(tmp_path: Path) -> None:
    photo = sample("chelsea", tmp_path, "jpg")
    result = run_tool("border", [photo], {"borderWidth": 12, "borderColor": "#FF0000",
                                          "padding": 8, "paddingColor": "#00FF00"},
                      workdir=tmp_path)
    out = decoded(result.files[0].path).convert("RGB")
    assert result.files[0].name == "chelsea_border.jpg"
    assert out.size == (451 + 40, 300 + 40)
    assert near(out.getpixel((5, 100)), (255, 0, 0), 8)
    assert near(out.getpixel((16, 100)), (0, 255, 0), 8)
    assert get_tool("border").pipeline


def test_border_round_corners_and_shadow_make_a_png_with_alpha(tmp_path: Path) -> None:
    photo = sample("chelsea", tmp_path, "jpg")
    result = run_tool("border", [photo], {"borderWidth": 10, "cornerRadius": 40,
                                          "shadow": True, "shadowBlur": 10,
                                          "shadowOffsetY": 10}, workdir=tmp_path)
    out = decoded(result.files[0].path)
    margin = 2 * 10 + 10
    assert result.files[0].name == "chelsea_border.png" and out.mode == "RGBA"
    assert out.size == (471 + 2 * margin, 320 + 2 * margin)
    assert out.getpixel((margin + 2, margin + 2))[3] < 255  # the cut corner
    assert out.getpixel((margin + 5, margin + 150)) == (0, 0, 0, 255)  # the border
    below = out.getpixel((margin + 235, margin + 320 + 5))
    assert 0 < below[3] < 255  # soft shadow under the picture


def test_border_refuses_bad_colour_and_huge_canvas(tmp_path: Path) -> None:
    photo = sample("astronaut", tmp_path)
    assert bad_fields("border", {"borderColor": "#12345", "borderWidth": 3000}, tmp_path,
                      [photo]) == {"borderColor", "borderWidth"}
    with pytest.raises(CanvasTooLarge):
        run_tool("border", [photo], {"borderWidth": 2000}, workdir=tmp_path,
                 max_pixels=10_000_000)
