"""Header probing: sizes, orientation, frames, and bombs refused before any decoding."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest
from PIL import Image

from app.errors import BadRequest, TooLarge
from app.media import probe
from app.media.probe import probe_image
from tests.unit.media_helpers import (
    encode,
    orientation_fixtures,
    photo,
    png_with_header,
    save,
)

LIMIT = 50_000_000


@pytest.fixture(params=["vips", "pillow"])
def header_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libvips reading headers, and again with Pillow alone."""
    if request.param == "pillow":
        monkeypatch.setattr(probe, "_vips_module", None)
    elif probe.vips_module() is None:
        pytest.skip("libvips is not installed")
    return str(request.param)


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                           ("WEBP", "image/webp"), ("TIFF", "image/tiff"),
                                           ("BMP", "image/bmp"), ("AVIF", "image/avif"),
                                           ("HEIF", "image/heic"), ("GIF", "image/gif")])
def test_dimensions_of_each_format(tmp_path: Path, header_reader: str, fmt: str,
                                   mime: str) -> None:
    path = save(photo("rocket"), tmp_path / "image", fmt)
    info = probe_image(path, mime, max_pixels=LIMIT)
    assert (info.width, info.height, info.orientation) == (640, 427, 1)
    assert (info.frames, info.animated) == (1, False)


def test_orientation_is_read_from_exif(header_reader: str) -> None:
    folder = orientation_fixtures()
    for number in range(1, 9):
        info = probe_image(folder / f"Landscape_{number}.jpg", "image/jpeg", max_pixels=LIMIT)
        assert info.orientation == number
        stored = (1800, 1200) if number < 5 else (1200, 1800)
        assert (info.width, info.height) == stored
    zero = probe_image(folder / "Landscape_0.jpg", "image/jpeg", max_pixels=LIMIT)
    assert zero.orientation == 1  # 0 is not a valid orientation


def test_orientation_of_png_is_read_without_decoding(tmp_path: Path, header_reader: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(photo("coffee"), tmp_path / "turned.png", "PNG", exif=exif.tobytes())
    monkeypatch.setattr(Image.Image, "load", _no_decoding)
    info = probe_image(path, "image/png", max_pixels=LIMIT)
    assert (info.width, info.height, info.orientation) == (600, 400, 6)


def _no_decoding(self: Image.Image) -> None:
    raise AssertionError("the probe decoded pixels")


@pytest.mark.parametrize(("fmt", "mime"), [("GIF", "image/gif"), ("WEBP", "image/webp"),
                                           ("PNG", "image/png")])
def test_animation_frames_are_counted(tmp_path: Path, header_reader: str, fmt: str,
                                      mime: str) -> None:
    frames = [Image.new("RGB", (60, 40), colour) for colour in ("red", "lime", "blue")]
    path = save(frames[0], tmp_path / "anim", fmt, save_all=True, append_images=frames[1:],
                duration=100, loop=0)
    info = probe_image(path, mime, max_pixels=LIMIT)
    assert (info.width, info.height, info.frames, info.animated) == (60, 40, 3, True)


def test_a_multipage_tiff_is_not_an_animation(tmp_path: Path, header_reader: str) -> None:
    pages = [photo("chelsea"), photo("chelsea").rotate(180)]
    path = save(pages[0], tmp_path / "pages.tiff", "TIFF", save_all=True,
                append_images=pages[1:])
    info = probe_image(path, "image/tiff", max_pixels=LIMIT)
    assert (info.frames, info.animated) == (2, False)


def test_a_bomb_is_refused_from_its_header(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_with_header(100_000, 100_000))
    assert bomb.stat().st_size < 200
    monkeypatch.setattr(Image.Image, "load", _no_decoding)
    started = time.perf_counter()
    with pytest.raises(TooLarge) as caught:
        probe_image(bomb, "image/png", max_pixels=100_000_000)
    assert time.perf_counter() - started < 1
    error = caught.value
    assert error.status == 413
    assert error.details == {"width": 100_000, "height": 100_000, "max_pixels": 100_000_000}
    assert error.message == ("The image is 100000×100000 pixels (10,000 megapixels); "
                             "the limit is 100 megapixels.")


def test_a_bomb_is_refused_with_pillow_alone(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libvips Pillow's own bomb check fires first: it still becomes TooLarge."""
    monkeypatch.setattr(probe, "_vips_module", None)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_with_header(100_000, 100_000))
    with pytest.raises(TooLarge) as caught:
        probe_image(bomb, "image/png", max_pixels=100_000_000)
    assert caught.value.message == ("The image has 10,000 megapixels; "
                                    "the limit is 100 megapixels.")
    assert caught.value.details == {"pixels": 10**10, "max_pixels": 100_000_000}


def test_pillow_warning_zone_becomes_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               header_reader: str) -> None:
    """Between Pillow's limit and twice it, Pillow only warns: that must not slip through."""
    path = tmp_path / "big.png"
    path.write_bytes(encode(photo("coffee", (200, 150)), "PNG"))  # 30 000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)
    with warnings.catch_warnings(record=True) as emitted:
        warnings.simplefilter("always")
        with pytest.raises(TooLarge):
            probe_image(path, "image/png", max_pixels=25_000)
    assert not [w for w in emitted if issubclass(w.category, Image.DecompressionBombWarning)]


def test_pillow_limit_never_fires_before_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              header_reader: str) -> None:
    path = save(photo("coffee"), tmp_path / "coffee.jpg", "JPEG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    info = probe_image(path, "image/jpeg", max_pixels=LIMIT)  # 240 000 pixels: fine by us
    assert (info.width, info.height) == (600, 400)
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS >= LIMIT
    with probe.open_pillow(path, "image/jpeg") as image:
        image.load()  # neither a warning (an error under pytest) nor an exception


def test_the_limit_is_inclusive(tmp_path: Path) -> None:
    path = save(photo("coffee"), tmp_path / "coffee.png", "PNG")
    assert probe_image(path, "image/png", max_pixels=600 * 400).width == 600
    with pytest.raises(TooLarge):
        probe_image(path, "image/png", max_pixels=600 * 400 - 1)


@pytest.mark.parametrize(("content", "mime", "label"), [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", "PNG"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "image/jpeg", "JPEG"),
    (b"GIF89a\x01", "image/gif", "GIF"),
    (b"BM\x00\x00", "image/bmp", "BMP"),
])
def test_a_corrupt_header_is_a_bad_request(tmp_path: Path, header_reader: str, content: bytes,
                                           mime: str, label: str) -> None:
    path = tmp_path / "broken"
    path.write_bytes(content)
    with pytest.raises(BadRequest) as caught:
        probe_image(path, mime, max_pixels=LIMIT)
    assert caught.value.message == f"The file is a truncated or corrupt {label}."


def test_heic_needs_no_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(photo("astronaut"), tmp_path / "photo.heic", "HEIF")
    monkeypatch.setattr(probe, "_vips_module", None)
    info = probe_image(path, "image/heic", max_pixels=LIMIT)
    assert (info.width, info.height) == (512, 512)
