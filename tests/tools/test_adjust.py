"""Adjustment tools on real pictures: adjust-colors (and its aliases), sharpening,
replace-color, image-enhancement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from app.tools.base import get_tool
from tests.tools.helpers import bad_field, pixels, run_tool, sample


def adjusted(tmp_path: Path, settings: dict[str, Any], tool_id: str = "adjust-colors",
             name: str = "astronaut") -> tuple[np.ndarray, np.ndarray]:
    source = sample(name, tmp_path)
    result = run_tool(tool_id, [source], settings, workdir=tmp_path)
    return pixels(source), pixels(result.files[0].path)


def laplacian_energy(rgb: np.ndarray) -> float:
    grey = rgb.mean(axis=2)
    edges = (4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1]
             - grey[1:-1, :-2] - grey[1:-1, 2:])
    return float(np.var(edges))


# --- adjust-colors ------------------------------------------------------------------------

def test_adjust_colors_defaults_change_nothing(tmp_path: Path) -> None:
    source, out = adjusted(tmp_path, {})
    assert np.array_equal(source, out)


def test_adjust_colors_output_name_and_format(tmp_path: Path) -> None:
    result = run_tool("adjust-colors", [sample("chelsea", tmp_path, "jpg")], {"brightness": 10},
                      workdir=tmp_path)
    assert result.files[0].name == "chelsea_adjust-colors.jpg"
    assert result.files[0].path.read_bytes()[:3] == b"\xff\xd8\xff"


def test_brightness_and_contrast(tmp_path: Path) -> None:
    source, brighter = adjusted(tmp_path, {"brightness": 40})
    assert brighter.mean() > source.mean() + 20
    _, flat = adjusted(tmp_path, {"contrast": -80})
    assert flat.std() < source.std() / 3


def test_exposure_lifts_midtones_keeps_black_and_white(tmp_path: Path) -> None:
    gradient = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    path = tmp_path / "ramp.png"
    Image.fromarray(np.stack([gradient] * 3, axis=2)).save(path)
    out = pixels(run_tool("adjust-colors", [path], {"exposure": 50},
                          workdir=tmp_path).files[0].path)
    assert out[0, 0, 0] == 0 and out[0, 255, 0] == 255
    assert out[0, 128, 0] > 160


def test_saturation_minus_100_is_grey(tmp_path: Path) -> None:
    _, grey = adjusted(tmp_path, {"saturation": -100})
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 2
    assert np.abs(grey[..., 1] - grey[..., 2]).max() <= 2


def test_temperature_warms_and_channels_scale(tmp_path: Path) -> None:
    source, warm = adjusted(tmp_path, {"temperature": 80})
    assert warm[..., 0].mean() > source[..., 0].mean()
    assert warm[..., 2].mean() < source[..., 2].mean()
    _, no_red = adjusted(tmp_path, {"red": 0, "green": 50})
    assert no_red[..., 0].max() == 0
    assert abs(no_red[..., 1].mean() - source[..., 1].mean() / 2) < 1.5


def test_effects(tmp_path: Path) -> None:
    source, inverted = adjusted(tmp_path, {"effect": "invert"})
    assert np.array_equal(inverted, 255 - source)
    _, grey = adjusted(tmp_path, {"effect": "grayscale"})
    assert (grey[..., 0] == grey[..., 2]).all()
    _, sepia = adjusted(tmp_path, {"effect": "sepia"})
    assert (sepia[..., 0] >= sepia[..., 2]).all()


def test_hue_rotation_changes_colour_keeps_lightness(tmp_path: Path) -> None:
    source, turned = adjusted(tmp_path, {"hue": 180})
    assert np.abs(turned - source).mean() > 20
    assert abs(turned.mean() - source.mean()) < 25


def test_adjust_colors_keeps_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0
    rgba[10:, :, 3] = 255
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)
    out = pixels(run_tool("adjust-colors", [path], {"effect": "invert"},
                          workdir=tmp_path).files[0].path, "RGBA")
    assert out[0, 0, 3] == 0 and out[15, 0, 3] == 255
    assert out[15, 0, :3].tolist() == [55, 255, 255]


@pytest.mark.parametrize("alias", ["brightness-contrast", "saturation", "color-channels",
                                   "color-effects"])
def test_aliases_reach_adjust_colors(tmp_path: Path, alias: str) -> None:
    tool = get_tool(alias)
    assert tool is not None and tool.id == "adjust-colors"
    source, out = adjusted(tmp_path, {"effect": "invert"}, tool_id=alias)
    assert np.array_equal(out, 255 - source)


def test_adjust_colors_settings_name_the_field() -> None:
    assert ("brightness",) in bad_field("adjust-colors", {"brightness": 101})
    assert ("hue",) in bad_field("adjust-colors", {"hue": -181})
    assert ("red",) in bad_field("adjust-colors", {"red": 201})
    assert ("effect",) in bad_field("adjust-colors", {"effect": "vintage"})


# --- sharpening ---------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [{}, {"method": "unsharp-mask", "amount": 200},
                                      {"method": "high-pass"},
                                      {"method": "high-pass", "kernelSize": 5}])
def test_sharpening_adds_edge_energy(tmp_path: Path, settings: dict[str, Any]) -> None:
    source, out = adjusted(tmp_path, settings, tool_id="sharpening", name="camera")
    assert out.shape == source.shape
    assert laplacian_energy(out) > laplacian_energy(source) * 1.5


def test_unsharp_threshold_above_every_difference_changes_nothing(tmp_path: Path) -> None:
    source, out = adjusted(tmp_path, {"method": "unsharp-mask", "threshold": 255},
                           tool_id="sharpening", name="camera")
    assert np.array_equal(source, out)


def test_denoise_smooths(tmp_path: Path) -> None:
    source, out = adjusted(tmp_path, {"method": "high-pass", "strength": 0, "denoise": "strong"},
                           tool_id="sharpening", name="camera")
    assert laplacian_energy(out) < laplacian_energy(source) / 2


def test_sharpening_settings_name_the_field() -> None:
    assert ("sigma",) in bad_field("sharpening", {"sigma": 0.1})
    assert ("kernelSize",) in bad_field("sharpening", {"kernelSize": 4})
    assert ("denoise",) in bad_field("sharpening", {"denoise": "max"})
    assert ("amount",) in bad_field("sharpening", {"amount": 1001})


# --- replace-color ------------------------------------------------------------------------

@pytest.fixture
def two_colours(tmp_path: Path) -> Path:
    picture = np.zeros((40, 40, 3), np.uint8)
    picture[:, :20] = (255, 0, 0)
    picture[:, 20:] = (10, 200, 30)
    picture[0, 0] = (250, 5, 5)
    path = tmp_path / "flags.jpg"
    Image.fromarray(picture).save(path, quality=100, subsampling=0)
    return path


def test_replace_color_recolours_matching_pixels(tmp_path: Path, two_colours: Path) -> None:
    result = run_tool("replace-color", [two_colours], {"sourceColor": "#FF0000",
                                                       "targetColor": "#0000FF"},
                      workdir=tmp_path)
    assert result.files[0].name == "flags_replace-color.png"
    out = pixels(result.files[0].path)
    assert np.abs(out[20, 5] - [0, 0, 255]).max() <= 10
    assert np.abs(out[20, 35] - [10, 200, 30]).max() <= 3  # far colour untouched


def test_replace_color_makes_transparent(tmp_path: Path, two_colours: Path) -> None:
    result = run_tool("replace-color", [two_colours], {"makeTransparent": True, "tolerance": 20},
                      workdir=tmp_path)
    out = pixels(result.files[0].path, "RGBA")
    assert out[20, 5, 3] <= 30
    assert out[20, 35, 3] == 255


def test_replace_color_zero_tolerance_matches_exactly(tmp_path: Path) -> None:
    source = sample("astronaut", tmp_path)
    r, g, b = pixels(source)[100, 100].tolist()
    result = run_tool("replace-color", [source],
                      {"sourceColor": f"#{r:02X}{g:02X}{b:02X}", "makeTransparent": True,
                       "tolerance": 0}, workdir=tmp_path)
    out = pixels(result.files[0].path, "RGBA")
    assert out[100, 100, 3] == 0
    assert (out[..., 3] == 255).mean() > 0.95


def test_replace_color_settings_name_the_field() -> None:
    assert ("sourceColor",) in bad_field("replace-color", {"sourceColor": "red"})
    assert ("targetColor",) in bad_field("replace-color", {"targetColor": "#12345"})
    assert ("tolerance",) in bad_field("replace-color", {"tolerance": 256})


# --- image-enhancement --------------------------------------------------------------------

def test_enhancement_brightens_a_dark_picture(tmp_path: Path) -> None:
    path = tmp_path / "dark.png"
    Image.fromarray((pixels(sample("astronaut", tmp_path)) * 0.3).astype(np.uint8)).save(path)
    result = run_tool("image-enhancement", [path], {}, workdir=tmp_path)
    assert result.files[0].name == "dark_image-enhancement.png"
    assert pixels(result.files[0].path).mean() > pixels(path).mean() * 1.5
    assert result.data["analysis"]["mean"] < 0.2


def test_enhancement_removes_a_colour_cast(tmp_path: Path) -> None:
    path = tmp_path / "blue.png"
    cast = np.clip(pixels(sample("astronaut", tmp_path)) * [0.8, 0.9, 1.4], 0, 255)
    Image.fromarray(cast.astype(np.uint8)).save(path)
    before = pixels(path).mean(axis=(0, 1))
    after = pixels(run_tool("image-enhancement", [path], {"intensity": 100},
                            workdir=tmp_path).files[0].path).mean(axis=(0, 1))
    assert np.ptp(after) < np.ptp(before) / 2


def test_enhancement_with_every_correction_off_changes_nothing(tmp_path: Path) -> None:
    off = dict.fromkeys(("exposure", "contrast", "whiteBalance", "saturation", "sharpness",
                         "denoise"), False)
    source, out = adjusted(tmp_path, {"corrections": off}, tool_id="image-enhancement")
    assert np.array_equal(source, out)
    _, zero = adjusted(tmp_path, {"intensity": 0}, tool_id="image-enhancement")
    assert np.array_equal(source, zero)


def test_enhancement_settings_name_the_field() -> None:
    assert ("mode",) in bad_field("image-enhancement", {"mode": "night"})
    assert ("intensity",) in bad_field("image-enhancement", {"intensity": 150})
    assert ("corrections", "denoise") in bad_field("image-enhancement",
                                                   {"corrections": {"denoise": "lots"}})
    assert ("corrections", "blur") in bad_field("image-enhancement",
                                                {"corrections": {"blur": True}})
