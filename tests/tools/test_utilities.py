"""Utility tools on real pictures: info, compare, find-duplicates, color-palette,
qr-generate, barcode-read, image-to-base64."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image
from pydantic import ValidationError

from app.tools.base import CanvasTooLarge, ToolError
from tests.tools.helpers import run_tool, sample

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "exif-orientation"


def decoded(path: Path) -> Image.Image:
    """The decoded picture, its file closed."""
    with Image.open(path) as image:
        image.load()
        return image


def bad_fields(tool_id: str, settings: dict, tmp_path: Path, files: list[Path]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        run_tool(tool_id, files, settings, workdir=tmp_path)
    return {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


# --- info -----------------------------------------------------------------------------------

def test_info_reports_size_format_channels_and_statistics(tmp_path: Path) -> None:
    photo = sample("chelsea", tmp_path, "jpg")
    data = run_tool("info", [photo], workdir=tmp_path).data
    assert (data["width"], data["height"]) == (451, 300)
    assert data["format"] == "jpg" and data["channels"] == 3 and not data["hasAlpha"]
    assert data["fileSize"] == photo.stat().st_size and data["bitDepth"] == 8
    pixels = np.asarray(decoded(photo).convert("RGB"), dtype=float)
    red = next(row for row in data["histogram"] if row["channel"] == "red")
    assert red["mean"] == pytest.approx(pixels[..., 0].mean(), abs=0.5)
    assert red["max"] == pixels[..., 0].max()


def test_info_reads_exif_orientation_and_alpha(tmp_path: Path) -> None:
    data = run_tool("info", [FIXTURES / "Landscape_6.jpg"], workdir=tmp_path).data
    assert data["orientation"] == 6 and data["hasExif"]
    rgba = tmp_path / "alpha.png"
    Image.new("RGBA", (40, 30), (10, 20, 30, 128)).save(rgba)
    data = run_tool("info", [rgba], workdir=tmp_path).data
    assert data["hasAlpha"] and data["channels"] == 4
    assert [row["channel"] for row in data["histogram"]] == ["red", "green", "blue", "alpha"]
    assert data["histogram"][3]["mean"] == 128


def test_info_refuses_a_truncated_file(tmp_path: Path) -> None:
    photo = sample("astronaut", tmp_path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(photo.read_bytes()[:500])
    with pytest.raises(ToolError):
        run_tool("info", [broken], workdir=tmp_path)


# --- compare --------------------------------------------------------------------------------

def test_compare_identical_pictures_are_100_percent_similar(tmp_path: Path) -> None:
    photo = sample("astronaut", tmp_path)
    result = run_tool("compare", [photo, photo], workdir=tmp_path)
    assert result.data["similarity"] == 100.0
    diff = decoded(result.files[0].path).convert("RGB")
    assert result.files[0].name == "diff.png" and diff.size == (512, 512)
    assert not np.any(np.all(np.asarray(diff) == (255, 0, 0), axis=-1))  # nothing red


def test_compare_marks_the_changed_region_red(tmp_path: Path) -> None:
    photo = sample("astronaut", tmp_path)
    changed = tmp_path / "changed.png"
    picture = decoded(photo).convert("RGB")
    picture.paste((0, 255, 0), (100, 100, 200, 200))
    picture.save(changed)
    result = run_tool("compare", [photo, changed], workdir=tmp_path)
    assert 90 < result.data["similarity"] < 100
    diff = decoded(result.files[0].path).convert("RGB")
    assert diff.getpixel((150, 150)) == (255, 0, 0)
    assert diff.getpixel((20, 400)) != (255, 0, 0)


def test_compare_stretches_pictures_of_different_sizes(tmp_path: Path) -> None:
    result = run_tool("compare", [sample("astronaut", tmp_path), sample("chelsea", tmp_path)],
                      workdir=tmp_path)
    assert result.data["dimensions"] == {"width": 512, "height": 512}
    assert result.data["similarity"] < 90


# --- find-duplicates ------------------------------------------------------------------------

def test_find_duplicates_groups_resized_and_recompressed_copies(tmp_path: Path) -> None:
    original = sample("astronaut", tmp_path)
    smaller = tmp_path / "astronaut-small.jpg"
    decoded(original).convert("RGB").resize((256, 256)).save(smaller, quality=70)
    others = [sample("chelsea", tmp_path), sample("camera", tmp_path)]
    data = run_tool("find-duplicates", [original, smaller, *others], workdir=tmp_path).data
    assert data["totalImages"] == 4 and data["uniqueImages"] == 2
    (group,) = data["duplicateGroups"]
    by_name = {f["filename"]: f for f in group["files"]}
    assert set(by_name) == {"astronaut.png", "astronaut-small.jpg"}
    assert by_name["astronaut.png"]["isBest"] and not by_name["astronaut-small.jpg"]["isBest"]
    assert data["spaceSaveable"] == smaller.stat().st_size
    thumb = by_name["astronaut.png"]["thumbnail"]
    assert thumb.startswith("data:image/jpeg;base64,")
    assert max(Image.open(io.BytesIO(base64.b64decode(thumb.split(",", 1)[1]))).size) == 200


def test_find_duplicates_threshold_decides_how_close_counts(tmp_path: Path) -> None:
    original = sample("coffee", tmp_path)
    edited = tmp_path / "edited.png"
    picture = decoded(original).convert("RGB")
    picture.paste((255, 255, 255), (0, 0, 120, 100))  # a small white patch: a few bits differ
    picture.save(edited)
    loose = run_tool("find-duplicates", [original, edited], {"threshold": 20}, workdir=tmp_path)
    strict = run_tool("find-duplicates", [original, edited], {"threshold": 0},
                      workdir=tmp_path)
    assert strict.data["duplicateGroups"] == [] and strict.data["uniqueImages"] == 2
    (group,) = loose.data["duplicateGroups"]
    assert loose.data["uniqueImages"] == 0
    similarities = sorted(f["similarity"] for f in group["files"])
    assert similarities[1] == 100.0 and 100 * (1 - 20 / 128) <= similarities[0] < 100
    assert bad_fields("find-duplicates", {"threshold": 21}, tmp_path,
                      [original, edited]) == {"threshold"}


# --- color-palette --------------------------------------------------------------------------

def test_color_palette_finds_the_colours_of_a_flag(tmp_path: Path) -> None:
    flag = tmp_path / "flag.png"
    picture = Image.new("RGB", (300, 200), (224, 32, 32))
    picture.paste((32, 64, 224), (0, 0, 300, 70))
    picture.paste((240, 240, 240), (0, 140, 300, 200))
    picture.save(flag)
    data = run_tool("color-palette", [flag], workdir=tmp_path).data
    assert data["filename"] == "flag.png" and data["count"] == len(data["colors"]) <= 8
    # The three stripes come first (most frequent); blended edge pixels may follow.
    found = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in data["colors"][:3]]
    for expected in [(224, 32, 32), (32, 64, 224), (240, 240, 240)]:
        assert min(sum(abs(a - b) for a, b in zip(color, expected, strict=True))
                   for color in found) <= 48


def test_color_palette_of_a_photo_keeps_distinct_colours(tmp_path: Path) -> None:
    data = run_tool("color-palette", [sample("astronaut", tmp_path)], workdir=tmp_path).data
    assert 2 <= data["count"] <= 8
    rgb = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in data["colors"]]
    for i, first in enumerate(rgb):
        for second in rgb[i + 1:]:
            assert sum(abs(a - b) for a, b in zip(first, second, strict=True)) >= 48


# --- qr-generate ----------------------------------------------------------------------------

def test_qr_code_decodes_back_to_its_text(tmp_path: Path) -> None:
    text = "https://salon.example/pictures/42?ü=✓"
    result = run_tool("qr-generate", [], {"text": text, "size": 500, "errorCorrection": "H",
                                          "foreground": "#102030"}, workdir=tmp_path)
    assert result.files[0].name == "qrcode.png"
    picture = decoded(result.files[0].path).convert("RGB")
    assert picture.size == (500, 500)
    assert picture.getpixel((2, 2)) == (255, 255, 255)  # the quiet zone
    assert (0x10, 0x20, 0x30) in {c for _, c in picture.getcolors(4)}
    (code,) = zxingcpp.read_barcodes(picture)
    assert code.text == text and code.format == zxingcpp.BarcodeFormat.QRCode


def test_qr_generate_settings_are_checked(tmp_path: Path) -> None:
    assert bad_fields("qr-generate", {"text": ""}, tmp_path, []) == {"text"}
    assert bad_fields("qr-generate", {"text": "x", "size": 50_000}, tmp_path, []) == {"size"}
    assert bad_fields("qr-generate", {"text": "x", "foreground": "red"}, tmp_path,
                      []) == {"foreground"}
    assert bad_fields("qr-generate", {"text": "x", "errorCorrection": "X"}, tmp_path,
                      []) == {"errorCorrection"}


def test_qr_generate_respects_the_pixel_limit(tmp_path: Path) -> None:
    with pytest.raises(CanvasTooLarge):
        run_tool("qr-generate", [], {"text": "x", "size": 10_000}, workdir=tmp_path,
                 max_pixels=50_000_000)
    assert not any(tmp_path.rglob("*.png"))


# --- barcode-read ---------------------------------------------------------------------------

def test_barcode_read_finds_a_generated_code128_and_a_qr_code(tmp_path: Path) -> None:
    bar = np.asarray(zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode("SALON-2024", zxingcpp.BarcodeFormat.Code128), scale=3))
    qr = np.asarray(zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode("hello from salon", zxingcpp.BarcodeFormat.QRCode), scale=6))
    page = decoded(sample("coffee", tmp_path)).convert("RGB").resize((900, 700))
    page.paste(Image.fromarray(bar).convert("RGB"), (40, 40))
    page.paste(Image.fromarray(qr).convert("RGB"), (500, 300))
    photo = tmp_path / "codes.png"
    page.save(photo)
    result = run_tool("barcode-read", [photo], workdir=tmp_path)
    found = {code["text"]: code for code in result.data["barcodes"]}
    assert set(found) == {"SALON-2024", "hello from salon"}
    assert found["SALON-2024"]["type"] == "Code128"
    corner = found["hello from salon"]["position"]["topLeft"]
    assert 500 <= corner["x"] <= 560 and 300 <= corner["y"] <= 360
    annotated = decoded(result.files[0].path).convert("RGB")
    assert result.files[0].name == "codes_annotated.png" and annotated.size == (900, 700)
    assert np.any(np.all(np.asarray(annotated) == (255, 0, 80), axis=-1))


def test_barcode_read_on_a_photo_without_codes(tmp_path: Path) -> None:
    result = run_tool("barcode-read", [sample("chelsea", tmp_path)], {"tryHarder": False},
                      workdir=tmp_path)
    assert result.data["barcodes"] == []
    assert bad_fields("barcode-read", {"tryHarder": "maybe"}, tmp_path,
                      [sample("chelsea", tmp_path)]) == {"tryHarder"}


# --- image-to-base64 ------------------------------------------------------------------------

def test_image_to_base64_keeps_the_original_bytes(tmp_path: Path) -> None:
    photo = sample("chelsea", tmp_path, "jpg")
    (entry,) = run_tool("image-to-base64", [photo], workdir=tmp_path).data["results"]
    assert base64.b64decode(entry["base64"]) == photo.read_bytes()
    assert entry["dataUri"] == "data:image/jpeg;base64," + entry["base64"]
    assert entry["mimeType"] == "image/jpeg" and (entry["width"], entry["height"]) == (451, 300)
    assert entry["overheadPercent"] == pytest.approx(33.3, abs=0.5)


def test_image_to_base64_re_encodes_and_shrinks_each_file(tmp_path: Path) -> None:
    files = [sample("astronaut", tmp_path), sample("coffee", tmp_path, "jpg")]
    data = run_tool("image-to-base64", files, {"outputFormat": "webp", "maxWidth": 100},
                    workdir=tmp_path).data
    assert data["errors"] == [] and len(data["results"]) == 2
    for entry in data["results"]:
        decoded = Image.open(io.BytesIO(base64.b64decode(entry["base64"])))
        assert decoded.format == "WEBP" and decoded.width == 100 == entry["width"]
        assert entry["mimeType"] == "image/webp"


def test_image_to_base64_reports_a_broken_file_and_goes_on(tmp_path: Path) -> None:
    good = sample("camera", tmp_path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[:300])
    data = run_tool("image-to-base64", [broken, good], {"outputFormat": "png"},
                    workdir=tmp_path).data
    assert [e["filename"] for e in data["results"]] == ["camera.png"]
    assert [e["filename"] for e in data["errors"]] == ["broken.png"]
    assert bad_fields("image-to-base64", {"quality": 0}, tmp_path, [good]) == {"quality"}
