"""Thumbnails and previews: sizes, orientation, colour, alpha, frames, failures, speed."""

from __future__ import annotations

import os
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.errors import BadRequest
from app.media import derive
from app.media.derive import make_derivatives
from app.media.probe import vips_module
from tests.unit.media_helpers import (
    encode,
    gradient,
    mean_difference,
    orientation_fixtures,
    photo,
    png_chunk,
    save,
)

BACKENDS = ["pillow", "vips"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "vips" and vips_module() is None:
        pytest.skip("libvips is not installed")
    return str(request.param)


def _pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def _open(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


@pytest.mark.parametrize(("size", "preview", "thumb"), [
    ((2400, 1800), (1024, 768), (256, 192)),
    ((1200, 2400), (512, 1024), (128, 256)),
    ((1024, 1024), (1024, 1024), (256, 256)),
    ((3000, 40), (1024, 14), (256, 4)),  # thumb made from the preview
])
def test_sizes(tmp_path: Path, backend: str, size: tuple[int, int], preview: tuple[int, int],
               thumb: tuple[int, int]) -> None:
    source = save(gradient(*size), tmp_path / "in.jpg", "JPEG", quality=90)
    derived = make_derivatives(source, "image/jpeg", tmp_path / "out", backend=backend)
    assert (derived.width, derived.height) == size
    assert derived.preview == tmp_path / "out" / "preview.webp"
    assert derived.thumb == tmp_path / "out" / "thumb.webp"
    assert (_open(derived.preview).size, _open(derived.thumb).size) == (preview, thumb)
    assert _open(derived.preview).format == _open(derived.thumb).format == "WEBP"


def test_small_images_are_not_enlarged(tmp_path: Path, backend: str) -> None:
    source = save(photo("rocket", (100, 80)), tmp_path / "small.png", "PNG")
    derived = make_derivatives(source, "image/png", tmp_path / "out", backend=backend)
    assert (derived.width, derived.height) == (100, 80)
    assert _open(derived.preview).size == _open(derived.thumb).size == (100, 80)
    assert mean_difference(_open(derived.thumb), photo("rocket", (100, 80))) < 6


FORMATS = [("JPEG", "image/jpeg", 10), ("PNG", "image/png", 6), ("WEBP", "image/webp", 10),
           ("GIF", "image/gif", 16), ("TIFF", "image/tiff", 6), ("BMP", "image/bmp", 6),
           ("AVIF", "image/avif", 12), ("HEIF", "image/heic", 12)]


@pytest.mark.parametrize(("fmt", "mime", "tolerance"), FORMATS)
def test_every_format_gives_a_faithful_thumbnail(tmp_path: Path, backend: str, fmt: str,
                                                 mime: str, tolerance: float) -> None:
    if backend == "vips" and fmt in ("BMP", "HEIF"):
        pytest.skip(f"{fmt} is always decoded with Pillow")
    source = save(photo("rocket"), tmp_path / "in", fmt)
    derived = make_derivatives(source, mime, tmp_path / "out", backend=backend)
    assert (derived.width, derived.height) == (640, 427)
    thumb = _open(derived.thumb)
    expected = photo("rocket").resize(thumb.size, Image.Resampling.LANCZOS)
    assert thumb.size == (256, 171)
    assert mean_difference(thumb, expected) < tolerance
    assert mean_difference(thumb, expected.transpose(Image.Transpose.ROTATE_180)) > 30


def test_the_default_backend_is_chosen_per_format(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake(name: str) -> Callable[[Path, str, Path, Path], tuple[int, int]]:
        def render(src: Path, mime: str, preview: Path, thumb: Path) -> tuple[int, int]:
            calls.append(name)
            preview.write_bytes(b"")
            thumb.write_bytes(b"")
            return 1, 1
        return render

    monkeypatch.setattr(derive, "_render_pillow", fake("pillow"))
    monkeypatch.setattr(derive, "_render_vips", fake("vips"))
    for mime in ("image/jpeg", "image/png", "image/bmp"):
        make_derivatives(tmp_path / "x", mime, tmp_path / "out")
    expected_png = "vips" if vips_module() is not None else "pillow"
    assert calls == ["pillow", expected_png, "pillow"]


def test_exif_orientation_fixtures_come_out_upright(tmp_path: Path, backend: str) -> None:
    folder = orientation_fixtures()
    for shape in ("Landscape", "Portrait"):
        reference = make_derivatives(folder / f"{shape}_1.jpg", "image/jpeg", tmp_path / shape,
                                     backend="pillow")
        upright = _open(reference.thumb)
        wrong = [upright.transpose(method) for method in (
            Image.Transpose.ROTATE_180, Image.Transpose.FLIP_LEFT_RIGHT,
            Image.Transpose.FLIP_TOP_BOTTOM)]
        for number in range(9):
            derived = make_derivatives(folder / f"{shape}_{number}.jpg", "image/jpeg",
                                       tmp_path / f"{shape}{number}", backend=backend)
            thumb = _open(derived.thumb)
            assert (derived.width, derived.height) == (reference.width, reference.height)
            assert thumb.size == upright.size, (shape, number)
            difference = mean_difference(thumb, upright)
            assert difference < 8, (shape, number, difference)
            assert difference * 4 < min(mean_difference(thumb, w) for w in wrong), number


def test_display_size_follows_orientation(tmp_path: Path, backend: str) -> None:
    folder = orientation_fixtures()
    for number in range(1, 9):
        derived = make_derivatives(folder / f"Portrait_{number}.jpg", "image/jpeg",
                                   tmp_path / str(number), backend=backend)
        assert (derived.width, derived.height) == (1200, 1800)
        assert _open(derived.preview).size == (683, 1024)


def test_orientation_of_png_and_webp(tmp_path: Path, backend: str) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left: display rotates it clockwise
    upright = photo("chelsea")
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    for fmt, mime in (("PNG", "image/png"), ("WEBP", "image/webp"), ("JPEG", "image/jpeg")):
        source = save(stored, tmp_path / f"in.{fmt}", fmt, exif=exif.tobytes())
        derived = make_derivatives(source, mime, tmp_path / fmt, backend=backend)
        assert (derived.width, derived.height) == upright.size
        preview = _open(derived.preview)
        assert mean_difference(preview, upright) < 12, fmt


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path, backend: str) -> None:
    source = save(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), tmp_path / "c.jpg", "JPEG")
    preview = _open(make_derivatives(source, "image/jpeg", tmp_path / "out",
                                     backend=backend).preview)
    red, green, blue = _pixel(preview, (150, 100))
    assert preview.mode == "RGB"
    assert red > 200 and green < 60 and blue < 60


def _png_16bit(pixels: np.ndarray) -> bytes:
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit RGB)."""
    height, width = pixels.shape[:2]
    colour_type = 2 if pixels.ndim == 3 else 0
    rows = pixels.astype(">u2").reshape(height, -1).tobytes()
    stride = len(rows) // height
    raw = b"".join(b"\x00" + rows[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path: Path, backend: str) -> None:
    ramp = np.tile(np.linspace(0, 65535, 400), (300, 1)).astype(np.uint16)
    source = tmp_path / "grey16.png"
    source.write_bytes(_png_16bit(ramp))
    with Image.open(source) as check:
        assert check.mode.startswith("I")
    preview = np.asarray(_open(make_derivatives(source, "image/png", tmp_path / "out",
                                                backend=backend).preview).convert("L"))
    assert abs(float(preview.mean()) - 127.5) < 6  # clipping would give ~250
    assert preview[:, :20].mean() < 20 and preview[:, -20:].mean() > 235


def test_16_bit_rgb_png(tmp_path: Path, backend: str) -> None:
    pixels = np.zeros((200, 300, 3), dtype=np.uint16)
    pixels[..., 0], pixels[..., 2] = 65535, 32768
    source = tmp_path / "rgb16.png"
    source.write_bytes(_png_16bit(pixels))
    preview = _open(make_derivatives(source, "image/png", tmp_path / "out",
                                     backend=backend).preview)
    red, green, blue = _pixel(preview.convert("RGB"), (100, 100))
    assert (red, green) == (255, 0) and abs(blue - 128) <= 3


def test_palette_transparency_and_alpha_are_kept(tmp_path: Path, backend: str) -> None:
    palette = Image.new("P", (200, 100), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (100, 0, 200, 100))
    palette.info["transparency"] = 1
    grey_alpha = Image.merge("LA", (Image.new("L", (200, 100), 200),
                                    Image.linear_gradient("L").resize((200, 100))))
    for name, image in (("palette", palette), ("la", grey_alpha)):
        source = save(image, tmp_path / f"{name}.png", "PNG")
        preview = _open(make_derivatives(source, "image/png", tmp_path / name,
                                         backend=backend).preview)
        assert preview.mode == "RGBA", name
        if name == "palette":
            assert _pixel(preview, (20, 50))[:1] == (255,) and _pixel(preview, (20, 50))[3] > 250
            assert _pixel(preview, (180, 50))[3] < 5
        else:
            assert _pixel(preview, (100, 2))[3] < 10 and _pixel(preview, (100, 97))[3] > 245


def test_alpha_webp_keeps_alpha(tmp_path: Path, backend: str) -> None:
    image = photo("coffee").convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))
    source = save(image, tmp_path / "alpha.webp", "WEBP", lossless=True)
    thumb = _open(make_derivatives(source, "image/webp", tmp_path / "out",
                                   backend=backend).thumb)
    assert thumb.mode == "RGBA"
    alpha = np.asarray(thumb.getchannel("A"))
    assert alpha[:5].mean() < 15 and alpha[-5:].mean() > 240


@pytest.mark.parametrize(("fmt", "mime"), [("GIF", "image/gif"), ("WEBP", "image/webp"),
                                           ("PNG", "image/png")])
def test_animations_show_their_first_frame(tmp_path: Path, backend: str, fmt: str,
                                           mime: str) -> None:
    frames = [Image.new("RGB", (300, 200), colour) for colour in ("red", "lime", "blue")]
    source = save(frames[0], tmp_path / "anim", fmt, save_all=True, append_images=frames[1:],
                  duration=100, loop=0)
    preview = _open(make_derivatives(source, mime, tmp_path / "out", backend=backend).preview)
    red, green, blue = _pixel(preview.convert("RGB"), (150, 100))
    assert red > 240 and green < 15 and blue < 15


def test_embedded_colour_profile_is_converted_to_srgb(tmp_path: Path, backend: str) -> None:
    vips = vips_module()
    if vips is None:
        pytest.skip("libvips is needed to write a Display P3 test image")
    green = vips.Image.black(300, 200, bands=3).new_from_image([0, 200, 0])
    p3 = green.copy(interpretation="srgb").cast("uchar").icc_transform("p3",
                                                                      input_profile="srgb")
    assert p3(5, 5) != [0.0, 200.0, 0.0]  # stored values really are different
    for suffix, mime in ((".jpg", "image/jpeg"), (".png", "image/png")):
        source = tmp_path / f"p3{suffix}"
        p3.write_to_file(str(source))
        preview = _open(make_derivatives(source, mime, tmp_path / suffix,
                                         backend=backend).preview)
        red, green_value, blue = _pixel(preview, (150, 100))
        assert red < 12 and abs(green_value - 200) < 8 and blue < 14, (suffix, red, blue)


def test_derived_files_carry_no_metadata(tmp_path: Path, backend: str) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.6), 3: "E", 4: (2.0, 17.0, 40.2)})
    source = save(photo("astronaut"), tmp_path / "gps.jpg", "JPEG", exif=exif.tobytes())
    derived = make_derivatives(source, "image/jpeg", tmp_path / "out", backend=backend)
    for path in (derived.thumb, derived.preview):
        assert b"Camera Maker" not in path.read_bytes()
        assert "exif" not in _open(path).info


def _truncated(fmt: str) -> bytes:
    data = encode(photo("astronaut", (900, 900)), fmt)
    return data[: len(data) * 2 // 3]


def _corrupt_gif() -> bytes:
    data = encode(photo("astronaut"), "GIF")
    middle = len(data) // 2
    return data[:middle] + bytes(range(256)) * 8 + data[middle + 2048:]


@pytest.mark.parametrize(("name", "content", "mime", "label"), [
    ("jpeg", lambda: _truncated("JPEG"), "image/jpeg", "JPEG"),
    ("png", lambda: _truncated("PNG"), "image/png", "PNG"),
    ("gif", lambda: _truncated("GIF"), "image/gif", "GIF"),
    ("webp", lambda: _truncated("WEBP"), "image/webp", "WebP"),
    ("bmp", lambda: _truncated("BMP"), "image/bmp", "BMP"),
    ("corrupt-gif", _corrupt_gif, "image/gif", "GIF"),
])
def test_broken_files_fail_and_leave_nothing(tmp_path: Path, backend: str, name: str,
                                             content: object, mime: str, label: str) -> None:
    source = tmp_path / name
    source.write_bytes(content())  # type: ignore[operator]
    out = tmp_path / "out"
    with pytest.raises(BadRequest) as caught:
        make_derivatives(source, mime, out, backend=backend)
    assert caught.value.message == f"The file is a truncated or corrupt {label}."
    assert os.listdir(out) == []


def test_success_replaces_old_files_and_leaves_no_temporary_ones(tmp_path: Path,
                                                                 backend: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thumb.webp").write_bytes(b"old")
    source = save(photo("coffee"), tmp_path / "in.jpg", "JPEG")
    make_derivatives(source, "image/jpeg", out, backend=backend)
    assert sorted(os.listdir(out)) == ["preview.webp", "thumb.webp"]
    assert _open(out / "thumb.webp").size == (256, 171)


@pytest.mark.parametrize(("size", "box", "expected"), [
    ((4000, 3000), 1024, (1024, 768)), ((3000, 4000), 256, (192, 256)),
    ((100, 80), 1024, (100, 80)), ((5000, 1), 256, (256, 1)), ((1024, 768), 1024, (1024, 768)),
])
def test_fit(size: tuple[int, int], box: int, expected: tuple[int, int]) -> None:
    assert derive.fit(size, box) == expected


def test_banded_resize_equals_one_resize() -> None:
    source = gradient(2000, 1500)
    expected = source.resize((1024, 768), Image.Resampling.BILINEAR)
    assert mean_difference(derive._resize_in_bands(source, (1024, 768)), expected) == 0


@pytest.mark.slow
def test_a_12_megapixel_jpeg_is_fast(tmp_path: Path) -> None:
    """Both derived images cost little more than one bare thumbnail call."""
    source = save(gradient(4000, 3000, seed=3), tmp_path / "big.jpg", "JPEG", quality=90)

    def bare() -> None:
        with Image.open(source) as image:
            image.thumbnail((256, 256))
            image.save(tmp_path / "bare.webp")

    def ours() -> None:
        make_derivatives(source, "image/jpeg", tmp_path / "out")

    timings = {bare: [], ours: []}  # type: dict[object, list[float]]
    for _ in range(5):
        for job in (bare, ours):
            started = time.perf_counter()
            job()
            timings[job].append(time.perf_counter() - started)
    ratio = sorted(timings[ours])[2] / sorted(timings[bare])[2]
    assert ratio < 2.0, ratio
