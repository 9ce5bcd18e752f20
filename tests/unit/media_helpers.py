"""Builders for media test inputs: real photos, hand-made PNG chunks, short videos."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO.parent / "shared" / "fixtures"
ORIENTATION_FIXTURES = FIXTURES / "exif-orientation"


def orientation_fixtures() -> Path:
    if not (ORIENTATION_FIXTURES / "Landscape_1.jpg").exists():
        pytest.skip(f"EXIF orientation fixtures not found at {ORIENTATION_FIXTURES}")
    return ORIENTATION_FIXTURES


def photo(name: str = "astronaut", size: tuple[int, int] | None = None) -> Image.Image:
    """A real photograph from scikit-image, optionally resized."""
    skimage_data = pytest.importorskip("skimage.data")
    image = Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
    return image.resize(size, Image.Resampling.BICUBIC) if size else image


def save(image: Image.Image, path: Path, fmt: str, **options: object) -> Path:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(path, fmt, **options)
    return path


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width``×``height`` (8-bit RGB) with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def insert_chunk(png: bytes, chunk: bytes, before: bytes = b"IEND") -> bytes:
    """Insert a raw chunk just before the first chunk of type ``before``."""
    position = png.index(before) - 4
    return png[:position] + chunk + png[position:]


def gradient(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth colour gradients with mild noise: compresses like a photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0–255) of two same-size images, as RGB."""
    assert a.size == b.size, (a.size, b.size)
    first = np.asarray(a.convert("RGB"), dtype=np.int16)
    second = np.asarray(b.convert("RGB"), dtype=np.int16)
    return float(np.abs(first - second).mean())


def need_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg/ffprobe are not installed")


VIDEO_CODECS = {"mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
                "mov": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
                "webm": ["-c:v", "libvpx-vp9", "-b:v", "200k"],
                "mkv": ["-c:v", "libx264", "-pix_fmt", "yuv420p"]}


def make_video(path: Path, duration: float = 1.0, size: str = "320x240",
               extra: tuple[str, ...] = ()) -> Path:
    """A test-pattern video; the container comes from the suffix."""
    need_ffmpeg()
    source = f"testsrc=duration={duration}:size={size}:rate=10"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source,
                    *VIDEO_CODECS[path.suffix[1:]], *extra, str(path)],
                   check=True, capture_output=True, timeout=120)
    return path
