"""Uploads are recognised by content; refusals name what the file really is."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from app.media.sniff import SNIFF_BYTES, describe_unsupported, sniff
from tests.unit.media_helpers import encode, make_video, photo


def _mime(head: bytes) -> str | None:
    found = sniff(head)
    return None if found is None else found.mime


def _kind(head: bytes) -> str | None:
    found = sniff(head)
    return None if found is None else found.kind


def _frames() -> list[Image.Image]:
    return [Image.new("RGB", (40, 30), colour) for colour in ("red", "green", "blue")]


IMAGE_CASES: dict[str, tuple[str, str, dict[str, object]]] = {
    "JPEG": ("image/jpeg", "jpg", {}),
    "PNG": ("image/png", "png", {}),
    "WEBP": ("image/webp", "webp", {}),
    "AVIF": ("image/avif", "avif", {}),
    "HEIF": ("image/heic", "heic", {}),
    "TIFF": ("image/tiff", "tiff", {}),
    "BMP": ("image/bmp", "bmp", {}),
}


@pytest.mark.parametrize("fmt", sorted(IMAGE_CASES))
def test_each_image_format_is_recognised_from_its_bytes(fmt: str) -> None:
    mime, ext, options = IMAGE_CASES[fmt]
    found = sniff(encode(photo("chelsea"), fmt, **options)[:SNIFF_BYTES])
    assert found is not None
    assert (found.kind, found.mime, found.ext) == ("image", mime, ext)


def test_animated_gif_and_webp_are_recognised() -> None:
    first, *rest = _frames()
    gif = encode(first, "GIF", save_all=True, append_images=rest, duration=100, loop=0)
    webp = encode(first, "WEBP", save_all=True, append_images=rest, duration=100)
    assert _mime(gif[:SNIFF_BYTES]) == "image/gif"
    assert _mime(webp[:SNIFF_BYTES]) == "image/webp"


def test_lossless_webp_and_tiff_big_endian_are_recognised() -> None:
    assert _mime(encode(photo("coffee"), "WEBP", lossless=True)) == "image/webp"
    assert _mime(b"MM\x00*\x00\x00\x00\x08" + bytes(56)) == "image/tiff"


def test_the_file_name_does_not_matter(tmp_path: Path) -> None:
    disguised = tmp_path / "holiday.jpg"
    disguised.write_bytes(encode(photo("coffee"), "PNG"))
    assert _mime(disguised.read_bytes()[:SNIFF_BYTES]) == "image/png"


@pytest.mark.parametrize(("suffix", "mime"), [("mp4", "video/mp4"), ("webm", "video/webm"),
                                              ("mov", "video/quicktime")])
def test_videos_are_recognised(tmp_path: Path, suffix: str, mime: str) -> None:
    video = make_video(tmp_path / f"clip.{suffix}")
    found = sniff(video.read_bytes()[:SNIFF_BYTES])
    assert found is not None and (found.kind, found.mime, found.ext) == ("video", mime, suffix)


def test_matroska_is_refused_and_named(tmp_path: Path) -> None:
    head = make_video(tmp_path / "clip.mkv").read_bytes()[:SNIFF_BYTES]
    assert sniff(head) is None
    assert describe_unsupported(head).startswith("Matroska (MKV) videos are not accepted")


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + bytes(16)


@pytest.mark.parametrize(("head", "mime"), [
    (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"mif1", b"mif1", b"miaf", b"MA1B", b"avif"), "image/avif"),
    (_ftyp(b"avis", b"avis", b"msf1"), "image/avif"),
    (_ftyp(b"mif1", b"mif1"), "image/heif"),
    (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    (_ftyp(b"mp42", b"mp42", b"isom"), "video/mp4"),
    (_ftyp(b"M4V ", b"M4V ", b"M4A ", b"mp42", b"isom"), "video/mp4"),
])
def test_iso_media_brands(head: bytes, mime: str) -> None:
    assert _mime(head) == mime


def test_audio_in_an_mp4_box_is_not_a_video() -> None:
    head = _ftyp(b"M4A ", b"M4A ", b"mp42", b"isom")
    assert sniff(head) is None
    assert describe_unsupported(head).startswith("Audio files are not accepted")


def test_bmp_needs_a_plausible_header() -> None:
    real = encode(photo("chelsea"), "BMP")[:SNIFF_BYTES]
    assert _mime(real) == "image/bmp"
    assert sniff(b"BM" + b"this is just text that starts with BM" * 2) is None
    broken_depth = real[:28] + struct.pack("<H", 7) + real[30:]
    assert sniff(broken_depth) is None


def test_only_the_first_bytes_matter() -> None:
    png = encode(photo("coffee"), "PNG")
    assert SNIFF_BYTES == 64
    assert sniff(png) == sniff(png[:SNIFF_BYTES])
    assert sniff(png[:SNIFF_BYTES] + b"%PDF-1.7") == sniff(png)


@pytest.mark.parametrize(("content", "start"), [
    (b"", "The file is empty."),
    (b"<!DOCTYPE html><html><head><title>x</title></head></html>", "HTML files are not"),
    (b"\xef\xbb\xbf  <html lang='en'><body>hello</body></html>", "HTML files are not"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF documents are not"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP archives (and Office files) are not"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG images are not"),
    (b"<svg width='10' height='10'></svg>", "SVG images are not"),
    (b"Just some notes about my holiday.\nDay 1: the beach.\n", "Plain-text files are not"),
    ("Grüße aus Köln — ein Text".encode(), "Plain-text files are not"),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "Programs are not"),
    (b"MZ is how I sign my letters.", "Plain-text files are not"),
    (b"\x00\x01\x02\x03\xfe\xfd\xfc\x80\x81garbage", "The file's format was not recognised"),
])
def test_refusals_name_the_real_type(content: bytes, start: str) -> None:
    assert sniff(content) is None
    message = describe_unsupported(content)
    assert message.startswith(start), message
    if content:
        assert message.endswith("supported: JPEG, PNG, WebP, GIF, AVIF, HEIC, TIFF, BMP, MP4, "
                                "MOV, WebM.")


def test_webm_doc_type_is_read_from_the_ebml_header(tmp_path: Path) -> None:
    webm = make_video(tmp_path / "clip.webm").read_bytes()
    assert _mime(webm[:SNIFF_BYTES]) == "video/webm"
    patched = webm[:SNIFF_BYTES].replace(b"webm", b"wxbm", 1)
    assert sniff(patched) is None


def test_ffmpeg_made_files_are_not_confused_with_images(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4")
    frame = tmp_path / "frame.png"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-frames:v", "1", str(frame)],
                   check=True, timeout=60)
    assert _kind(frame.read_bytes()) == "image"
    assert _kind(video.read_bytes()) == "video"
