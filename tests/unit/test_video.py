"""Video probing and poster frames through ffprobe/ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.errors import BadRequest, UnsupportedType
from app.media import video
from app.media.video import extract_poster, ffmpeg_available, poster_time, probe_video
from tests.unit.media_helpers import make_video, need_ffmpeg


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    need_ffmpeg()


@pytest.mark.parametrize(("suffix", "codec"), [("mp4", "h264"), ("webm", "vp9"),
                                               ("mov", "h264")])
def test_probe(tmp_path: Path, suffix: str, codec: str) -> None:
    info = probe_video(make_video(tmp_path / f"clip.{suffix}"))
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert (info.codec, info.width, info.height) == (codec, 320, 240)
    assert (info.display_width, info.display_height) == (320, 240)


def _rotated(tmp_path: Path) -> Path:
    plain = make_video(tmp_path / "plain.mp4", size="320x240")
    turned = tmp_path / "turned.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(plain), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(turned)],
                   check=True, capture_output=True, timeout=60)
    return turned


def test_rotation_metadata_swaps_the_display_size(tmp_path: Path) -> None:
    info = probe_video(_rotated(tmp_path))
    assert (info.width, info.height) == (320, 240)
    assert (info.display_width, info.display_height) == (240, 320)


def test_poster_is_upright(tmp_path: Path) -> None:
    source = _rotated(tmp_path)
    poster = tmp_path / "poster.png"
    extract_poster(source, poster, probe_video(source).duration)
    with Image.open(poster) as image:
        assert (image.format, image.size) == ("PNG", (240, 320))


def _poster_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_poster_is_taken_ten_percent_in(tmp_path: Path) -> None:
    source = make_video(tmp_path / "long.mp4", duration=5)
    for name, at in (("start", 0.0), ("tenth", 0.5)):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(at), "-i", str(source),
                        "-frames:v", "1", str(tmp_path / f"{name}.png")], check=True, timeout=60)
    extract_poster(source, tmp_path / "poster.png", probe_video(source).duration)
    poster = _poster_pixels(tmp_path / "poster.png")
    to_tenth = np.abs(poster - _poster_pixels(tmp_path / "tenth.png")).mean()
    to_start = np.abs(poster - _poster_pixels(tmp_path / "start.png")).mean()
    assert to_tenth < 1 < to_start


def test_poster_as_jpeg_and_for_a_very_short_video(tmp_path: Path) -> None:
    source = make_video(tmp_path / "short.webm", duration=0.3)
    poster = tmp_path / "poster.jpg"
    extract_poster(source, poster, probe_video(source).duration)
    with Image.open(poster) as image:
        assert (image.format, image.size) == ("JPEG", (320, 240))
    assert poster_time(0.3) == 0.0 and poster_time(20.0) == 2.0


def test_a_wrong_duration_falls_back_to_the_first_frame(tmp_path: Path) -> None:
    source = make_video(tmp_path / "clip.mp4")
    poster = tmp_path / "poster.png"
    extract_poster(source, poster, duration=500.0)  # would seek 50 s into a 1 s video
    assert poster.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "poster.png"]


def test_a_broken_video_is_a_bad_request_without_paths(tmp_path: Path) -> None:
    broken = tmp_path / "secret-folder" / "broken.mp4"
    broken.parent.mkdir()
    broken.write_bytes(make_video(tmp_path / "clip.mp4").read_bytes()[:400])
    with pytest.raises(BadRequest) as caught:
        probe_video(broken)
    assert caught.value.message.startswith("The video could not be read: ")
    assert "secret-folder" not in caught.value.message


def test_a_broken_video_leaves_no_poster(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    with pytest.raises(BadRequest):
        extract_poster(broken, tmp_path / "poster.png", 1.0)
    assert [p.name for p in tmp_path.iterdir()] == ["broken.mp4"]


def test_audio_only_is_unsupported(tmp_path: Path) -> None:
    audio = tmp_path / "sound.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1", "-c:a", "aac", str(audio)],
                   check=True, capture_output=True, timeout=60)
    with pytest.raises(UnsupportedType, match="no video stream"):
        probe_video(audio)


def test_other_containers_are_unsupported(tmp_path: Path) -> None:
    gif = tmp_path / "anim.gif"
    Image.new("RGB", (20, 20)).save(gif)
    with pytest.raises(UnsupportedType, match="container"):
        probe_video(gif)


def test_file_names_are_never_options_or_urls(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    make_video(tmp_path / "clip.mp4").rename(tmp_path / "concat:clip.mp4")
    monkeypatch.chdir(tmp_path)
    odd = Path("concat:clip.mp4")  # relative: ffmpeg alone would read a protocol name
    assert probe_video(odd).width == 320
    extract_poster(odd, Path("-y poster%d.png"), 1.0)
    assert (tmp_path / "-y poster%d.png").exists()


def test_a_slow_ffprobe_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_video(tmp_path / "clip.mp4")
    monkeypatch.setattr(video, "PROBE_TIMEOUT", 0.001)
    with pytest.raises(BadRequest, match="took more than"):
        probe_video(source)


def test_without_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_video(tmp_path / "clip.mp4")
    assert ffmpeg_available()
    monkeypatch.setattr(video.shutil, "which", lambda name: None)
    assert not ffmpeg_available()
    with pytest.raises(UnsupportedType, match="ffmpeg is not installed"):
        probe_video(source)


def test_cover_art_listed_first_is_skipped(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {"format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "4.5"},
              "streams": [{"codec_type": "video", "codec_name": "mjpeg", "width": 600,
                           "height": 600, "disposition": {"attached_pic": 1}},
                          {"codec_type": "audio", "codec_name": "aac"},
                          {"codec_type": "video", "codec_name": "hevc", "width": 1920,
                           "height": 1080, "side_data_list": [{"rotation": -90}]}]}
    monkeypatch.setattr(video, "_ffprobe", lambda path: answer)
    info = probe_video(tmp_path / "any.mp4")
    assert (info.codec, info.width, info.height, info.duration) == ("hevc", 1920, 1080, 4.5)
    assert (info.display_width, info.display_height) == (1080, 1920)


def test_cover_art_is_not_mistaken_for_the_video(tmp_path: Path) -> None:
    plain = make_video(tmp_path / "plain.mp4")
    cover = tmp_path / "cover.png"
    Image.new("RGB", (64, 64), "red").save(cover)
    with_cover = tmp_path / "with-cover.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(cover), "-i", str(plain),
                    "-map", "0", "-map", "1", "-c", "copy", "-disposition:v:0", "attached_pic",
                    str(with_cover)], check=True, capture_output=True, timeout=60)
    info = probe_video(with_cover)
    assert (info.codec, info.width, info.height) == ("h264", 320, 240)
    extract_poster(with_cover, tmp_path / "poster.png", info.duration)
    with Image.open(tmp_path / "poster.png") as poster:
        assert poster.size == (320, 240)
