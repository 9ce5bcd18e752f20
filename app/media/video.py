"""Video facts and a poster frame, from ffprobe and ffmpeg.

Videos are handed to the ffmpeg tools as subprocesses (no shell), with a time
limit, reading only the local file (``file:`` protocol only, so a crafted
container cannot make ffmpeg open other files or the network). The poster
frame then goes through the same thumbnail code as images.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import BadRequest, UnsupportedType

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 30
POSTER_TIMEOUT = 60
SHORT_VIDEO = 1.0  # seconds; shorter ones show their first frame
ACCEPTED_FORMATS = ("mov", "mp4", "matroska", "webm")  # ffprobe's format_name parts
_INPUT_OPTIONS = ("-protocol_whitelist", "file")


@dataclass(frozen=True)
class VideoInfo:
    duration: float  # seconds
    codec: str
    width: int  # as coded
    height: int
    display_width: int  # after rotation metadata
    display_height: int


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def probe_video(path: Path) -> VideoInfo:
    """Duration, codec and size of the first video stream; BadRequest if unreadable."""
    data = _ffprobe(path)
    container = str(data.get("format", {}).get("format_name", ""))
    if not set(container.split(",")) & set(ACCEPTED_FORMATS):
        raise UnsupportedType(f"The video container ({container or 'unknown'}) is not supported.")
    stream = next((s for s in data.get("streams", []) if _is_picture(s)), None)
    if stream is None:
        raise UnsupportedType("The file has no video stream.")
    width, height = _int(stream.get("width")), _int(stream.get("height"))
    if width < 1 or height < 1:
        raise BadRequest("The video could not be read: it has no picture size.")
    turned = _rotation(stream) % 180 == 90
    return VideoInfo(duration=_duration(data, stream), codec=str(stream.get("codec_name", "")),
                     width=width, height=height, display_width=height if turned else width,
                     display_height=width if turned else height)


def _is_picture(stream: Any) -> bool:
    """A real video stream, not cover art stored as a one-frame "video"."""
    return (isinstance(stream, dict) and stream.get("codec_type") == "video"
            and (stream.get("disposition") or {}).get("attached_pic") != 1)


def _ffprobe(path: Path) -> dict[str, Any]:
    command = ["ffprobe", "-v", "error", *_INPUT_OPTIONS, "-print_format", "json",
               "-show_streams", "-show_format", _file_url(path)]
    output = _run(command, PROBE_TIMEOUT)
    try:
        data = json.loads(output.stdout or b"{}")
    except ValueError as exc:
        raise BadRequest("The video could not be read: ffprobe gave no answer.") from exc
    return data if isinstance(data, dict) else {}


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    if not ffmpeg_available():
        raise UnsupportedType("Videos cannot be processed: ffmpeg is not installed.")
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise BadRequest(f"The video could not be read: {command[0]} took more than "
                         f"{timeout:g} seconds.") from exc
    if done.returncode != 0:
        reason = _reason(done.stderr, command) or f"{command[0]} failed"
        log.debug("%s failed (%s): %s", command[0], done.returncode, done.stderr[-2000:])
        raise BadRequest(f"The video could not be read: {reason}.")
    return done


def _reason(stderr: bytes, command: list[str]) -> str:
    """ffmpeg's last complaint, without our file names (people see this message)."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    reason = lines[-1] if lines else ""
    for argument in command:
        if argument.startswith("file:"):
            reason = reason.replace(f"{argument}: ", "").replace(argument, "the file")
    return reason.strip().rstrip(".")[:200]


def _file_url(path: Path) -> str:
    """``file:`` + absolute path, so no name is ever read as an option or another protocol."""
    return "file:" + str(Path(path).resolve())


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _duration(data: dict[str, Any], stream: dict[str, Any]) -> float:
    for value in (data.get("format", {}).get("duration"), stream.get("duration")):
        number = _float(value)
        if number is not None:
            return round(number, 3)
    return 0.0


def _rotation(stream: dict[str, Any]) -> int:
    """Degrees from the display matrix side data (or the older ``rotate`` tag)."""
    for side in stream.get("side_data_list") or []:
        if isinstance(side, dict) and "rotation" in side:
            try:
                return abs(round(float(side["rotation"])))
            except (TypeError, ValueError, OverflowError):
                return 0
    return abs(_int((stream.get("tags") or {}).get("rotate")))


def poster_time(duration: float) -> float:
    """~10 % in (past fades from black), or the first frame of a very short video."""
    return 0.0 if duration < SHORT_VIDEO else round(duration * 0.1, 3)


def extract_poster(path: Path, out: Path, duration: float) -> None:
    """Write one frame as PNG (or JPEG if ``out`` ends in .jpg/.jpeg), upright, atomically."""
    staged = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    try:
        _grab_frame(path, staged, poster_time(duration), out.suffix.lower())
        if not staged.exists() or staged.stat().st_size == 0:  # seeked past the last frame
            _grab_frame(path, staged, 0.0, out.suffix.lower())
        if not staged.exists() or staged.stat().st_size == 0:
            raise BadRequest("The video could not be read: it has no frame to show.")
        os.replace(staged, out)
    finally:
        staged.unlink(missing_ok=True)


def extract_frames(path: Path, folder: Path, duration: float,
                   fractions: tuple[float, ...] = (0.1, 0.5, 0.9)) -> list[Path]:
    """PNG frames at these fractions of the duration (for analysis); unreadable ones skipped."""
    frames = []
    for index, fraction in enumerate(fractions):
        out = folder / f"frame-{index}.png"
        _grab_frame(path, out, max(0.0, duration * fraction), ".png")
        if out.exists() and out.stat().st_size > 0:
            frames.append(out)
    return frames


def _grab_frame(path: Path, out: Path, at: float, suffix: str) -> None:
    codec = "mjpeg" if suffix in (".jpg", ".jpeg") else "png"
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               *_INPUT_OPTIONS, "-ss", f"{at:.3f}", "-i", _file_url(path),
               "-map", "0:V:0", "-frames:v", "1", "-an", "-sn", "-dn",
               "-f", "image2", "-update", "1", "-c:v", codec,
               "-pix_fmt", "rgb24" if codec == "png" else "yuvj420p", _file_url(out)]
    _run(command, POSTER_TIMEOUT)
