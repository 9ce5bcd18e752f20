"""Essentials and optimisation tools on real pictures: resize, crop, rotate, convert,
compress, optimize-for-web, strip-metadata, edit-metadata, bulk-rename, image-to-pdf,
favicon."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import piexif
import pyexiv2
import pypdfium2
import pytest
from PIL import Image, ImageCms, PngImagePlugin
from pydantic import ValidationError

from app.tools.base import CanvasTooLarge, ToolError, get_tool
from tests.tools.helpers import bad_field, pixels, run_tool, sample

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
ORIENTED = FIXTURES / "exif-orientation"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
       b'<dc:title>secret title</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>')




@pytest.fixture
def tagged_jpeg(tmp_path: Path) -> Path:
    """A photo carrying EXIF (camera, date, GPS), XMP and an ICC profile."""
    photo = Image.open(sample("chelsea", tmp_path, "jpg"))
    exif = {"0th": {piexif.ImageIFD.Make: b"Salon Cam", piexif.ImageIFD.Artist: b"Ada"},
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2020:01:02 03:04:05"},
            "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N",
                    piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (24, 1)),
                    piexif.GPSIFD.GPSLongitudeRef: b"E",
                    piexif.GPSIFD.GPSLongitude: ((2, 1), (21, 1), (3, 1))}}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "tagged.jpg"
    photo.save(path, exif=piexif.dump(exif), icc_profile=icc, xmp=XMP, quality=92)
    return path


# --- resize -------------------------------------------------------------------------------

def test_resize_width_keeps_aspect_and_format(tmp_path: Path) -> None:
    result = run_tool("resize", [sample("chelsea", tmp_path, "jpg")], {"width": 150},
                      workdir=tmp_path)
    out = result.files[0]
    assert out.name == "chelsea_resize.jpg"
    assert out.path.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(out.path) as image:
        assert image.size == (150, 100)  # chelsea is 451 × 300


@pytest.mark.parametrize(("fit", "size"), [("contain", (100, 100)), ("cover", (200, 100)),
                                           ("fill", (200, 100)), ("inside", (100, 100)),
                                           ("outside", (200, 200))])
def test_resize_fit_modes(tmp_path: Path, fit: str, size: tuple[int, int]) -> None:
    astronaut = sample("astronaut", tmp_path)  # 512 × 512
    result = run_tool("resize", [astronaut], {"width": 200, "height": 100, "fit": fit},
                      workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        assert image.size == size


def test_resize_percentage_overrides_width(tmp_path: Path) -> None:
    result = run_tool("resize", [sample("astronaut", tmp_path)],
                      {"percentage": 25, "width": 400}, workdir=tmp_path)
    assert (result.data["width"], result.data["height"]) == (128, 128)


def test_resize_without_enlargement_keeps_size(tmp_path: Path) -> None:
    result = run_tool("resize", [sample("astronaut", tmp_path)],
                      {"width": 2000, "withoutEnlargement": True}, workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        assert image.size == (512, 512)


def test_resize_keeps_the_picture_upright(tmp_path: Path) -> None:
    result = run_tool("resize", [ORIENTED / "Landscape_6.jpg"], {"width": 900},
                      workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        assert image.size == (900, 600)  # stored 1200 × 1800 with orientation 6


def test_resize_settings_name_the_field(tmp_path: Path) -> None:
    assert ("width",) in bad_field("resize", {"width": -5})
    assert ("fit",) in bad_field("resize", {"width": 5, "fit": "stretch"})
    with pytest.raises(ValidationError, match="width, a height or a percentage"):
        get_tool("resize").parse_settings({})  # type: ignore[union-attr]


def test_resize_refuses_a_huge_canvas_before_allocating(tmp_path: Path) -> None:
    with pytest.raises(CanvasTooLarge):
        run_tool("resize", [sample("astronaut", tmp_path)],
                 {"width": 50_000, "height": 50_000, "fit": "fill"}, workdir=tmp_path)


# --- crop ---------------------------------------------------------------------------------

def test_crop_pixels_match_the_region(tmp_path: Path) -> None:
    source = sample("astronaut", tmp_path)
    result = run_tool("crop", [source], {"left": 100, "top": 50, "width": 120, "height": 80},
                      workdir=tmp_path)
    assert result.files[0].name == "astronaut_crop.png"
    assert np.array_equal(pixels(result.files[0].path), pixels(source)[50:130, 100:220])


def test_crop_in_percent(tmp_path: Path) -> None:
    result = run_tool("crop", [sample("astronaut", tmp_path)],
                      {"left": 25, "top": 25, "width": 50, "height": 25, "unit": "percent"},
                      workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        assert image.size == (256, 128)


def test_crop_outside_the_picture_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="leaves"):
        run_tool("crop", [sample("astronaut", tmp_path)],
                 {"left": 500, "top": 0, "width": 100, "height": 10}, workdir=tmp_path)


def test_crop_settings_name_the_field() -> None:
    assert ("height",) in bad_field("crop", {"left": 0, "top": 0, "width": 10})
    assert ("left",) in bad_field("crop", {"left": -1, "top": 0, "width": 10, "height": 10})
    assert ("unit",) in bad_field("crop", {"left": 0, "top": 0, "width": 1, "height": 1,
                                           "unit": "cm"})


# --- rotate -------------------------------------------------------------------------------

def test_rotate_90_moves_the_corner_clockwise(tmp_path: Path) -> None:
    source = sample("astronaut", tmp_path)
    result = run_tool("rotate", [source], {"angle": 90}, workdir=tmp_path)
    assert np.array_equal(pixels(result.files[0].path), np.rot90(pixels(source), k=-1))


def test_rotate_then_flip(tmp_path: Path) -> None:
    source = sample("chelsea", tmp_path)
    result = run_tool("rotate", [source], {"angle": 180, "horizontal": True},
                      workdir=tmp_path)
    # 180° then a left-right mirror is a top-bottom mirror.
    assert np.array_equal(pixels(result.files[0].path), pixels(source)[::-1])


def test_rotate_any_angle_fills_corners_black(tmp_path: Path) -> None:
    result = run_tool("rotate", [sample("astronaut", tmp_path)], {"angle": 45},
                      workdir=tmp_path)
    out = pixels(result.files[0].path)
    assert out.shape[0] == out.shape[1] and out.shape[0] > 700  # 512·√2 ≈ 724
    assert out[2, 2].tolist() == [0, 0, 0]


def test_rotate_refuses_a_huge_canvas(tmp_path: Path) -> None:
    with pytest.raises(CanvasTooLarge):
        run_tool("rotate", [sample("astronaut", tmp_path)], {"angle": 30},
                 workdir=tmp_path, max_pixels=512 * 512)


def test_rotate_settings_name_the_field() -> None:
    assert ("angle",) in bad_field("rotate", {"angle": "left"})
    assert ("spin",) in bad_field("rotate", {"spin": 1})


# --- convert ------------------------------------------------------------------------------

MAGIC = {"jpg": lambda b: b[:3] == b"\xff\xd8\xff", "png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
         "webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
         "avif": lambda b: b[4:12] == b"ftypavif", "tiff": lambda b: b[:4] in (b"II*\0", b"MM\0*"),
         "gif": lambda b: b[:6] in (b"GIF87a", b"GIF89a"), "heic": lambda b: b[4:12] == b"ftypheic",
         "heif": lambda b: b[4:8] == b"ftyp"}


@pytest.mark.parametrize("fmt", sorted(MAGIC))
def test_convert_writes_the_format(tmp_path: Path, fmt: str) -> None:
    result = run_tool("convert", [sample("coffee", tmp_path, "jpg")],
                      {"format": fmt, "quality": 70}, workdir=tmp_path)
    out = result.files[0]
    assert out.name == ("coffee_convert.jpg" if fmt == "jpg" else f"coffee.{fmt}")
    assert MAGIC[fmt](out.path.read_bytes()[:16])


def test_convert_to_png_is_lossless(tmp_path: Path) -> None:
    source = sample("chelsea", tmp_path, "jpg")
    result = run_tool("convert", [source], {"format": "png"}, workdir=tmp_path)
    assert np.array_equal(pixels(result.files[0].path), pixels(source))


def test_convert_to_the_same_format_gets_the_tool_suffix(tmp_path: Path) -> None:
    result = run_tool("convert", [sample("coffee", tmp_path)], {"format": "png"},
                      workdir=tmp_path)
    assert result.files[0].name == "coffee_convert.png"


def test_convert_settings_name_the_field() -> None:
    assert ("format",) in bad_field("convert", {})
    assert ("format",) in bad_field("convert", {"format": "bmp"})
    assert ("quality",) in bad_field("convert", {"format": "jpg", "quality": 101})


# --- compress -----------------------------------------------------------------------------

def test_compress_quality_makes_a_smaller_jpeg(tmp_path: Path) -> None:
    source = sample("astronaut", tmp_path, "jpg")
    high = run_tool("compress", [source], {"quality": 95}, workdir=tmp_path)
    low = run_tool("compress", [source], {"quality": 20}, workdir=tmp_path)
    assert low.files[0].name == "astronaut_compress.jpg"
    assert low.files[0].path.stat().st_size < high.files[0].path.stat().st_size / 2
    assert low.data["quality"] == 20
    assert pixels(low.files[0].path).shape == (512, 512, 3)


def test_compress_target_size_meets_the_target(tmp_path: Path) -> None:
    source = sample("astronaut", tmp_path, "jpg")
    result = run_tool("compress", [source], {"mode": "targetSize", "targetSizeKb": 30},
                      workdir=tmp_path)
    size = result.files[0].path.stat().st_size
    assert size <= 30 * 1024 * 1.05
    assert size >= 30 * 1024 * 0.5  # it searched for the best quality, not the lowest
    assert 1 <= result.data["passes"] <= 8
    assert result.data["processedSize"] == size


def test_compress_png_quantises(tmp_path: Path) -> None:
    source = sample("astronaut", tmp_path)
    result = run_tool("compress", [source], {"quality": 40}, workdir=tmp_path)
    assert result.files[0].path.stat().st_size < source.stat().st_size
    with Image.open(result.files[0].path) as image:
        assert image.mode == "P"


def test_compress_settings_name_the_field() -> None:
    assert ("mode",) in bad_field("compress", {"mode": "smallest"})
    assert ("targetSizeKb",) in bad_field("compress", {"mode": "targetSize", "targetSizeKb": 0})
    with pytest.raises(ValidationError, match="targetSizeKb"):
        get_tool("compress").parse_settings({"mode": "targetSize"})  # type: ignore[union-attr]


# --- optimize-for-web ---------------------------------------------------------------------

def test_optimize_for_web_shrinks_encodes_and_strips(tmp_path: Path, tagged_jpeg: Path) -> None:
    result = run_tool("optimize-for-web", [tagged_jpeg], {"maxWidth": 200}, workdir=tmp_path)
    out = result.files[0]
    assert out.name == "tagged.webp"
    assert MAGIC["webp"](out.path.read_bytes())
    with Image.open(out.path) as image:
        assert image.width == 200
        assert not image.getexif() and "icc_profile" not in image.info


def test_optimize_for_web_progressive_jpeg(tmp_path: Path) -> None:
    result = run_tool("optimize-for-web", [sample("astronaut", tmp_path)],
                      {"format": "jpeg", "maxHeight": 1000}, workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        assert image.format == "JPEG" and image.info.get("progressive") == 1
        assert image.size == (512, 512)  # never enlarged


def test_optimize_for_web_settings_name_the_field() -> None:
    assert ("format",) in bad_field("optimize-for-web", {"format": "gif"})
    assert ("maxWidth",) in bad_field("optimize-for-web", {"maxWidth": -1})


# --- strip-metadata -----------------------------------------------------------------------

def test_strip_metadata_removes_everything(tmp_path: Path, tagged_jpeg: Path) -> None:
    result = run_tool("strip-metadata", [tagged_jpeg], {}, workdir=tmp_path)
    out = result.files[0].path
    assert result.files[0].name == "tagged_strip-metadata.jpg"
    with Image.open(out) as image:
        assert not image.getexif()
        assert "icc_profile" not in image.info and "xmp" not in image.info
    assert b"secret title" not in out.read_bytes() and b"Salon Cam" not in out.read_bytes()
    handle = pyexiv2.Image(str(out))
    assert not handle.read_exif() and not handle.read_xmp()
    handle.close()


def test_strip_metadata_removes_png_text(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat, Steps: 20, Seed: 42")
    path = tmp_path / "ai.png"
    Image.open(sample("chelsea", tmp_path)).save(path, pnginfo=info)
    result = run_tool("strip-metadata", [path], {}, workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        assert "parameters" not in image.info
    assert b"Seed" not in result.files[0].path.read_bytes()


def test_strip_only_gps_keeps_the_rest(tmp_path: Path, tagged_jpeg: Path) -> None:
    result = run_tool("strip-metadata", [tagged_jpeg], {"stripAll": False, "stripGps": True},
                      workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        exif = image.getexif()
        assert exif.get(271) == "Salon Cam"  # Make
        assert not exif.get_ifd(0x8825)  # no GPS directory
        assert "icc_profile" in image.info


def test_strip_icc_and_xmp_keeps_exif(tmp_path: Path, tagged_jpeg: Path) -> None:
    result = run_tool("strip-metadata", [tagged_jpeg],
                      {"stripAll": False, "stripIcc": True, "stripXmp": True}, workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        assert image.getexif().get(315) == "Ada"
        assert "icc_profile" not in image.info and "xmp" not in image.info


def test_strip_metadata_settings_name_the_field() -> None:
    assert ("stripAll",) in bad_field("strip-metadata", {"stripAll": "sometimes"})


# --- edit-metadata ------------------------------------------------------------------------

def test_edit_metadata_writes_tags_without_touching_pixels(tmp_path: Path,
                                                          tagged_jpeg: Path) -> None:
    settings = {"title": "Sunset", "artist": "Grace", "copyright": "CC BY 4.0",
                "keywords": ["cat", "sofa"], "gpsLatitude": -33.8568, "gpsLongitude": 151.2153,
                "dateShift": "+01:30", "iptcCity": "Sydney"}
    result = run_tool("edit-metadata", [tagged_jpeg], settings, workdir=tmp_path)
    out = result.files[0].path
    assert result.files[0].name == "tagged_edit-metadata.jpg"
    assert np.array_equal(pixels(out), pixels(tagged_jpeg))
    assert _scan_data(out) == _scan_data(tagged_jpeg)  # the compressed pixels, byte for byte
    handle = pyexiv2.Image(str(out))
    exif, xmp, iptc = handle.read_exif(), handle.read_xmp(), handle.read_iptc()
    handle.close()
    assert exif["Exif.Image.Artist"] == "Grace"
    assert exif["Exif.Photo.DateTimeOriginal"] == "2020:01:02 04:34:05"
    assert exif["Exif.GPSInfo.GPSLatitudeRef"] == "S"
    assert exif["Exif.GPSInfo.GPSLatitude"].startswith("33/1 51/1")
    assert xmp["Xmp.dc.title"] == {'lang="x-default"': "Sunset"}
    assert iptc["Iptc.Application2.Keywords"] == ["cat", "sofa"]
    assert iptc["Iptc.Application2.City"] == "Sydney"


def _scan_data(path: Path) -> bytes:
    data = path.read_bytes()
    return data[data.index(b"\xff\xda"):]


def test_edit_metadata_clears_gps_and_removes_fields(tmp_path: Path, tagged_jpeg: Path) -> None:
    result = run_tool("edit-metadata", [tagged_jpeg],
                      {"clearGps": True, "fieldsToRemove": ["artist", "Exif.Image.Make"]},
                      workdir=tmp_path)
    with Image.open(result.files[0].path) as image:
        exif = image.getexif()
        assert 315 not in exif and 271 not in exif
        assert not exif.get_ifd(0x8825)


def test_edit_metadata_adds_keywords_and_sets_dates_in_png(tmp_path: Path) -> None:
    source = sample("coffee", tmp_path)
    first = run_tool("edit-metadata", [source], {"keywords": ["a"]}, workdir=tmp_path)
    second = run_tool("edit-metadata", [first.files[0].path],
                      {"keywords": ["b"], "setAllDates": "2021-06-07T08:09:10"},
                      workdir=tmp_path)
    out = second.files[0].path
    assert np.array_equal(pixels(out), pixels(source))
    handle = pyexiv2.Image(str(out))
    exif, iptc = handle.read_exif(), handle.read_iptc()
    handle.close()
    assert iptc["Iptc.Application2.Keywords"] == ["a", "b"]
    assert exif["Exif.Photo.DateTimeOriginal"] == "2021:06:07 08:09:10"


def test_edit_metadata_settings_name_the_field() -> None:
    assert ("gpsLatitude",) in bad_field("edit-metadata", {"gpsLatitude": 91})
    assert ("dateShift",) in bad_field("edit-metadata", {"dateShift": "1 hour"})
    assert ("dateTime",) in bad_field("edit-metadata", {"dateTime": "yesterday"})
    assert ("fieldsToRemove",) in bad_field("edit-metadata", {"fieldsToRemove": ["../etc"]})
    assert ("keywordsMode",) in bad_field("edit-metadata", {"keywordsMode": "merge"})


# --- bulk-rename --------------------------------------------------------------------------

def test_bulk_rename_zip_names(tmp_path: Path) -> None:
    files = [sample("astronaut", tmp_path), sample("chelsea", tmp_path, "jpg"),
             sample("coffee", tmp_path)]
    result = run_tool("bulk-rename", files, {"pattern": "trip-{{padded}}-{{original}}",
                                             "startIndex": 9}, workdir=tmp_path)
    out = result.files[0]
    assert out.name.startswith("renamed-") and out.name.endswith(".zip")
    with zipfile.ZipFile(out.path) as archive:
        assert archive.namelist() == ["trip-09-astronaut.png", "trip-10-chelsea.jpg",
                                      "trip-11-coffee.png"]
        assert archive.read("trip-10-chelsea.jpg") == files[1].read_bytes()


def test_bulk_rename_never_makes_paths_or_duplicates(tmp_path: Path) -> None:
    files = [sample("astronaut", tmp_path), sample("camera", tmp_path)]
    result = run_tool("bulk-rename", files, {"pattern": "../x/same"}, workdir=tmp_path)
    with zipfile.ZipFile(result.files[0].path) as archive:
        names = archive.namelist()
    assert len(set(names)) == 2
    assert all("/" not in name and not name.startswith(".") for name in names)


def test_bulk_rename_settings_name_the_field() -> None:
    assert ("pattern",) in bad_field("bulk-rename", {"pattern": ""})
    assert ("startIndex",) in bad_field("bulk-rename", {"startIndex": -1})


# --- image-to-pdf -------------------------------------------------------------------------

def test_image_to_pdf_one_page_per_picture(tmp_path: Path) -> None:
    files = [sample("astronaut", tmp_path), sample("chelsea", tmp_path, "jpg"),
             ORIENTED / "Landscape_6.jpg"]
    result = run_tool("image-to-pdf", files, {"pageSize": "Letter", "orientation": "landscape",
                                              "margin": 36}, workdir=tmp_path)
    out = result.files[0]
    assert out.name == "images.pdf" and result.data["pages"] == 3
    document = pypdfium2.PdfDocument(str(out.path))
    try:
        assert len(document) == 3
        assert document[0].get_size() == pytest.approx((792, 612), abs=0.5)
        page = np.asarray(document[2].render(scale=1).to_pil().convert("RGB")).astype(int)
    finally:
        document.close()
    # The upright landscape photo fills the width inside the margins: white margins,
    # picture in the middle.
    assert page[306, 10].tolist() == [255, 255, 255]
    assert page[306, 396].tolist() != [255, 255, 255]


def test_image_to_pdf_margin_that_leaves_no_room_is_refused() -> None:
    with pytest.raises(ValidationError, match="no room"):
        get_tool("image-to-pdf").parse_settings(  # type: ignore[union-attr]
            {"pageSize": "A5", "margin": 300})
    assert ("pageSize",) in bad_field("image-to-pdf", {"pageSize": "B5"})
    assert ("margin",) in bad_field("image-to-pdf", {"margin": 501})


# --- favicon ------------------------------------------------------------------------------

def test_favicon_zip_has_every_size(tmp_path: Path) -> None:
    result = run_tool("favicon", [sample("chelsea", tmp_path, "jpg")], {}, workdir=tmp_path)
    with zipfile.ZipFile(result.files[0].path) as archive:
        names = set(archive.namelist())
        assert {"favicon.ico", "manifest.json", "favicon-snippet.html"} <= names
        for name, size in (("favicon-16x16.png", 16), ("apple-touch-icon.png", 180),
                           ("android-chrome-512x512.png", 512)):
            with Image.open(io.BytesIO(archive.read(name))) as icon:
                assert icon.size == (size, size)
        ico = archive.read("favicon.ico")
        manifest = json.loads(archive.read("manifest.json"))
    assert ico[:4] == b"\x00\x00\x01\x00"
    with Image.open(io.BytesIO(ico)) as icon:
        assert {(16, 16), (32, 32), (48, 48)} <= set(icon.info["sizes"])
    assert [icon["sizes"] for icon in manifest["icons"]] == ["192x192", "512x512"]


def test_favicon_several_pictures_get_folders(tmp_path: Path) -> None:
    files = [sample("chelsea", tmp_path, "jpg"), sample("coffee", tmp_path)]
    result = run_tool("favicon", files, {}, workdir=tmp_path)
    with zipfile.ZipFile(result.files[0].path) as archive:
        names = archive.namelist()
    assert "chelsea/favicon.ico" in names and "coffee/manifest.json" in names
    assert len(names) == 18


def test_favicon_refuses_settings_and_small_canvas_limits(tmp_path: Path) -> None:
    assert ("size",) in bad_field("favicon", {"size": 64})
    with pytest.raises(CanvasTooLarge):
        run_tool("favicon", [sample("coffee", tmp_path)], {}, workdir=tmp_path,
                 max_pixels=100_000)
