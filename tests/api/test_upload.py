"""Uploads through the API: real photos, every format, duplicates, and bad input that
must be refused precisely with nothing left behind."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import FIXTURES, Browser, jpeg_bytes, png_bytes, sample_photo


def _state(app, db) -> tuple[int, int, list[str]]:
    root: Path = app.config["UPLOADS"]
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return (db.value("SELECT count(*) FROM images"),
            db.value("SELECT count(*) FROM image_metadata"), files)


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
def test_real_photos_get_thumbnail_and_preview(alice: Browser, name: str) -> None:
    data = sample_photo(name)
    response = alice.upload(data, f"{name}.jpg")
    assert response.status_code == 201
    image = response.get_json()["images"][0]
    assert image["duplicate"] is False and len(image["sha256"]) == 64
    thumb = Image.open(io.BytesIO(alice.client.get(image["urls"]["thumb"]).data))
    preview = Image.open(io.BytesIO(alice.client.get(image["urls"]["preview"]).data))
    assert thumb.format == preview.format == "WEBP"
    assert max(thumb.size) == 256
    assert max(preview.size) == min(1024, max(image["width"], image["height"]))
    original = alice.client.get(image["urls"]["original"])
    assert original.data == data  # the original is kept byte for byte
    assert original.headers["Content-Type"] == "image/jpeg"


def _encode(fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((300, 200)).convert("RGB").save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _encode("HEIF")


def _gif() -> bytes:
    colors = ["red", "green", "blue", "yellow"]
    frames = [Image.new("RGB", (120, 80), color) for color in colors]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buffer.getvalue()


FORMATS = {
    "png": (lambda: png_bytes(mode="RGBA"), "image/png"),
    "webp": (lambda: _encode("WEBP"), "image/webp"),
    "gif": (_gif, "image/gif"),
    "avif": (lambda: _encode("AVIF"), "image/avif"),
    "heic": (_heic, "image/heic"),
    "tiff": (lambda: _encode("TIFF"), "image/tiff"),
    "bmp": (lambda: _encode("BMP"), "image/bmp"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_image_format(alice: Browser, fmt: str) -> None:
    make, mime = FORMATS[fmt]
    response = alice.upload(make(), "no-extension-needed.bin")
    assert response.status_code == 201, response.get_json()
    image = response.get_json()["images"][0]
    assert image["mime"] == mime
    assert alice.client.get(image["urls"]["thumb"]).status_code == 200


def test_animated_gif_keeps_its_frames(alice: Browser) -> None:
    image = alice.upload(_gif(), "anim.gif").get_json()["images"][0]
    detail = alice.client.get(f"/api/v1/images/{image['id']}").get_json()
    assert detail["frames"] == 4
    original = Image.open(io.BytesIO(alice.client.get(image["urls"]["original"]).data))
    assert original.n_frames == 4


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
@pytest.mark.parametrize(("ext", "codec_args", "mime"), [
    ("mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "video/mp4"),
    ("webm", ["-c:v", "libvpx-vp9", "-b:v", "200k"], "video/webm"),
    ("mov", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], "video/quicktime"),
])
def test_videos_get_poster_duration_and_codec(alice: Browser, tmp_path, ext, codec_args,
                                              mime) -> None:
    path = tmp_path / f"clip.{ext}"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=duration=2:size=320x240:rate=10", *codec_args, str(path)],
                   check=True, timeout=120)
    response = alice.upload(path.read_bytes(), "clip")
    assert response.status_code == 201, response.get_json()
    image = response.get_json()["images"][0]
    detail = alice.client.get(f"/api/v1/images/{image['id']}").get_json()
    assert detail["mime"] == mime and detail["kind"] == "video"
    assert detail["duration"] == pytest.approx(2.0, abs=0.2)
    assert detail["codec"] in ("h264", "vp9")
    assert (detail["width"], detail["height"]) == (320, 240)
    thumb = Image.open(io.BytesIO(alice.client.get(image["urls"]["thumb"]).data))
    assert thumb.size == (256, 192)


def test_duplicate_returns_the_existing_picture(alice: Browser, app, db) -> None:
    data = sample_photo("coffee")
    first = alice.upload(data, "a.jpg").get_json()["images"][0]
    before = _state(app, db)
    again = alice.upload(data, "renamed.jpg")
    assert again.status_code == 200
    body = again.get_json()["images"][0]
    assert body["duplicate"] is True and body["id"] == first["id"]
    assert _state(app, db) == before


def test_same_file_for_two_users_is_stored_once(alice: Browser, bob: Browser, app, db) -> None:
    data = sample_photo("rocket")
    a = alice.upload(data, "a.jpg").get_json()["images"][0]
    b = bob.upload(data, "b.jpg").get_json()["images"][0]
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"]
    originals = list((app.config["UPLOADS"] / "originals").rglob("*.jpg"))
    assert len(originals) == 1


def _bomb_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


BAD_INPUT = {
    "truncated-jpeg": (lambda: sample_photo("astronaut")[:20_000], "t.jpg", 400, "corrupt"),
    "png-bomb": (_bomb_png, "bomb.png", 413, "100000"),
    "text-named-jpg": (lambda: b"just some words, honestly\n" * 20, "fake.jpg", 415, "text"),
    "html": (lambda: b"<!DOCTYPE html><html><script>alert(1)</script></html>", "x.jpg", 415,
             "HTML"),
    "empty": (lambda: b"", "empty.jpg", 400, "empty"),
    "oversize": (lambda: b"\xff\xd8\xff" + b"\0" * (9 * 2**20), "big.jpg", 413, "MB"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_and_leaves_nothing(alice: Browser, app, db, case: str,
                                                 caplog) -> None:
    caplog.set_level("INFO")
    make, name, status, words = BAD_INPUT[case]
    before = _state(app, db)
    response = alice.upload(make(), name)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert words.lower() in body["error"].lower(), body
    assert _state(app, db) == before
    assert any(str(status) in record.getMessage() for record in caplog.records)


def test_a_bad_file_in_a_batch_undoes_the_whole_batch(alice: Browser, app, db) -> None:
    before = _state(app, db)
    data = {"file": [(io.BytesIO(jpeg_bytes()), "good.jpg"),
                     (io.BytesIO(b"<html></html>"), "bad.jpg")]}
    response = alice.client.post("/api/v1/images", data=data, content_type="multipart/form-data",
                                 headers={"X-CSRFToken": alice.csrf()})
    assert response.status_code == 415
    assert response.get_json()["file_name"] == "bad.jpg"
    assert _state(app, db) == before


def test_missing_file_field_names_the_field(alice: Browser) -> None:
    response = alice.client.post("/api/v1/images", data={"x": "y"},
                                 headers={"X-CSRFToken": alice.csrf()})
    assert response.status_code == 400 and response.get_json()["field"] == "file"


def test_bad_visibility_is_refused(alice: Browser) -> None:
    response = alice.upload(jpeg_bytes(), "a.jpg", visibility="world")
    assert response.status_code == 400 and response.get_json()["field"] == "visibility"


ORIENTATION = sorted(FIXTURES.glob("exif-orientation/*_[0-8].jpg"))


@pytest.mark.skipif(not ORIENTATION, reason="shared/fixtures is not beside the repository")
@pytest.mark.parametrize("path", ORIENTATION, ids=lambda p: p.name)
def test_exif_orientation_gives_upright_thumbnails(alice: Browser, path: Path) -> None:
    reference_path = path.with_name(path.name.split("_")[0] + "_1.jpg")
    reference = Image.open(reference_path).convert("RGB")
    image = alice.upload(path.read_bytes(), path.name).get_json()["images"][0]
    thumb = Image.open(io.BytesIO(alice.client.get(image["urls"]["thumb"]).data)).convert("RGB")
    assert (image["width"] > image["height"]) == (reference.width > reference.height)
    expected = reference.resize(thumb.size)

    def difference(a: Image.Image, b: Image.Image) -> float:
        pixels = list(zip(a.tobytes(), b.tobytes(), strict=True))
        return sum(abs(x - y) for x, y in pixels) / len(pixels)

    upright = difference(thumb, expected)
    rotated = difference(thumb, expected.transpose(Image.Transpose.ROTATE_180))
    assert upright < 12, upright
    assert upright < rotated / 2
