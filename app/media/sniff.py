"""Recognise uploads by their magic bytes, never by their name.

A file name or a Content-Type header is whatever the client says; the first
bytes of the file are what every decoder will actually look at. Sniffing
those (and only those: ``SNIFF_BYTES``) decides which media types Salon
accepts, and ``describe_unsupported`` turns a refusal into a message a person
can act on ("HTML files are not accepted; supported: JPEG, PNG, ...").
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

SNIFF_BYTES = 64


@dataclass(frozen=True)
class MediaType:
    kind: Literal["image", "video"]
    mime: str
    ext: str  # lower case, no dot: "jpg"
    label: str  # for people: "JPEG"


JPEG = MediaType("image", "image/jpeg", "jpg", "JPEG")
PNG = MediaType("image", "image/png", "png", "PNG")
WEBP = MediaType("image", "image/webp", "webp", "WebP")
GIF = MediaType("image", "image/gif", "gif", "GIF")
AVIF = MediaType("image", "image/avif", "avif", "AVIF")
HEIC = MediaType("image", "image/heic", "heic", "HEIC")
HEIF = MediaType("image", "image/heif", "heif", "HEIF")
TIFF = MediaType("image", "image/tiff", "tiff", "TIFF")
BMP = MediaType("image", "image/bmp", "bmp", "BMP")
MP4 = MediaType("video", "video/mp4", "mp4", "MP4")
MOV = MediaType("video", "video/quicktime", "mov", "MOV")
WEBM = MediaType("video", "video/webm", "webm", "WebM")

ALL_TYPES = (JPEG, PNG, WEBP, GIF, AVIF, HEIC, HEIF, TIFF, BMP, MP4, MOV, WEBM)
BY_MIME = {media.mime: media for media in ALL_TYPES}
SUPPORTED = "JPEG, PNG, WebP, GIF, AVIF, HEIC, TIFF, BMP, MP4, MOV, WebM"

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2", b"miaf"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9",
               b"mp41", b"mp42", b"mp71", b"avc1", b"hvc1", b"av01", b"M4V ", b"M4VH",
               b"M4VP", b"dash", b"f4v ", b"XAVC", b"MSNV", b"NDAS", b"3gp4", b"3gp5",
               b"3gp6", b"3g2a", b"mmp4"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_OLD_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"pnot"}
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_BMP_DEPTHS = {1, 2, 4, 8, 16, 24, 32}


def sniff(head: bytes) -> MediaType | None:
    """The supported media type the first bytes announce, or None."""
    head = head[:SNIFF_BYTES]
    for detect in (_still_image, _iso_bmff, _webm):
        found = detect(head)
        if found is not None:
            return found
    return None


def _still_image(head: bytes) -> MediaType | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] in (b"VP8 ", b"VP8L",
                                                                         b"VP8X"):
        return WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    if _is_bmp(head):
        return BMP
    return None


def _is_bmp(head: bytes) -> bool:
    """``BM`` alone is two common letters: insist on a plausible header too."""
    if len(head) < 30 or head[:2] != b"BM":
        return False
    pixel_offset, header_size = struct.unpack_from("<II", head, 10)
    if header_size not in _BMP_HEADER_SIZES or not 14 + header_size <= pixel_offset < 1 << 26:
        return False
    if header_size == 12:
        width, height, planes, depth = struct.unpack_from("<HHHH", head, 18)
    else:
        width, height, planes, depth = struct.unpack_from("<iiHH", head, 18)
    return width > 0 and height != 0 and planes == 1 and depth in _BMP_DEPTHS


def _brands(head: bytes) -> tuple[bytes, set[bytes]] | None:
    """Major brand and all brands of an ISO-BMFF ``ftyp`` box at the start."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = struct.unpack_from(">I", head)[0]
    if size < 16:
        return None
    end = min(size, len(head))
    compatible = {head[i:i + 4] for i in range(16, end - 3, 4)}
    return head[8:12], compatible | {head[8:12]}


def _iso_bmff(head: bytes) -> MediaType | None:
    if head[4:8] in _OLD_QUICKTIME_ATOMS:
        return MOV  # QuickTime files from before the ftyp box existed
    found = _brands(head)
    if found is None:
        return None
    major, brands = found
    if major in _AUDIO_BRANDS:
        return None
    if brands & _AVIF_BRANDS:
        return AVIF
    if brands & _HEIC_BRANDS:
        return HEIC
    if major == b"qt  ":
        return MOV
    if brands & _MP4_BRANDS:
        return MP4
    if brands & _HEIF_BRANDS:
        return HEIF
    return MOV if b"qt  " in brands else None


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at ``pos``: (value, next position)."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 9 - data[pos].bit_length()
    if pos + length > len(data):
        return None
    value = data[pos] if keep_marker else data[pos] & (0xFF >> length)
    for byte in data[pos + 1:pos + length]:
        value = value << 8 | byte
    return value, pos + length


def ebml_doctype(head: bytes) -> str | None:
    """The DocType ("webm", "matroska") of an EBML header, if the head holds it."""
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    header = _vint(head, 4, keep_marker=False)
    pos = header[1] if header else len(head)
    while pos < len(head):
        element, size = _vint(head, pos, True), None
        if element is not None:
            size = _vint(head, element[1], False)
        if element is None or size is None:
            return None
        start, end = size[1], size[1] + size[0]
        if element[0] == 0x4282:
            return head[start:end].rstrip(b"\x00").decode("ascii", "replace") or None
        pos = end
    return None


def _webm(head: bytes) -> MediaType | None:
    return WEBM if ebml_doctype(head) == "webm" else None


# --- messages for refusals ---------------------------------------------------------------


def _text_start(head: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom):]
            break
    return head.lstrip().lower().replace(b"\x00", b"")


def _is_html(head: bytes) -> bool:
    start = _text_start(head)
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script",
                             b"<!--", b"<meta", b"<div", b"<p>", b"<title"))


def _is_svg(head: bytes) -> bool:
    start = _text_start(head)
    return start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in start)


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end is fine
        if exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")
    return bool(text) and all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)


def _is_matroska(head: bytes) -> bool:
    return ebml_doctype(head) == "matroska"


def _is_audio(head: bytes) -> bool:
    found = _brands(head)
    return (head.startswith((b"ID3", b"fLaC", b"OggS", b"\xff\xfb", b"\xff\xf3"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WAVE")
            or (found is not None and found[0] in _AUDIO_BRANDS))


_KNOWN: tuple[tuple[Callable[[bytes], bool], str], ...] = (
    (lambda h: h.startswith(b"%PDF-"), "PDF documents"),
    (lambda h: h.startswith((b"PK\x03\x04", b"PK\x05\x06")), "ZIP archives (and Office files)"),
    (lambda h: h.startswith(b"\x1f\x8b"), "gzip archives"),
    (lambda h: h.startswith((b"Rar!", b"7z\xbc\xaf")), "RAR and 7-Zip archives"),
    (_is_matroska, "Matroska (MKV) videos"),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"AVI ", "AVI videos"),
    (_is_audio, "audio files"),
    (lambda h: h.startswith(b"8BPS"), "Photoshop (PSD) files"),
    (lambda h: h.startswith(b"\x00\x00\x01\x00"), "icon (ICO) files"),
    (lambda h: h.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")), "JPEG XL images"),
    (lambda h: h.startswith(b"\x00\x00\x00\x0cjP  "), "JPEG 2000 images"),
    (lambda h: h.startswith(b"\x7fELF") or (h.startswith(b"MZ") and not _is_text(h)),
     "programs"),
    (_is_svg, "SVG images"),
    (_is_html, "HTML files"),
    (_is_text, "plain-text files"),
)


def describe_unsupported(head: bytes) -> str:
    """Why a file that ``sniff`` refused is refused, naming its type if known."""
    if not head:
        return "The file is empty."
    for matches, name in _KNOWN:
        if matches(head[:SNIFF_BYTES]):
            return f"{name[0].upper()}{name[1:]} are not accepted; supported: {SUPPORTED}."
    return f"The file's format was not recognised; supported: {SUPPORTED}."
