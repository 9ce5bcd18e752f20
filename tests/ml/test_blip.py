"""BLIP captioner on a tiny, seeded BLIP saved like a real model folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ml import captioner_blip, loaded
from ml.captioner_blip import BlipCaptioner
from ml.testing import build_tiny_blip


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_blip(tmp_path_factory.mktemp("blip"))


@pytest.fixture(scope="module")
def captioner(blip_dir: Path) -> BlipCaptioner:
    return BlipCaptioner(blip_dir, beams=2, max_length=12)


@pytest.fixture(autouse=True)
def no_cached_models() -> Iterator[None]:
    yield
    loaded.unload_all()


def picture(color: tuple[int, int, int] = (200, 30, 30)) -> Image.Image:
    return Image.new("RGB", (64, 48), color)


def test_the_folder_looks_like_a_real_model(blip_dir: Path) -> None:
    for name in ("config.json", "model.safetensors", "processor_config.json",
                 "tokenizer_config.json", "vocab.txt"):
        assert (blip_dir / name).is_file(), name


def test_caption_is_a_deterministic_non_empty_string(captioner: BlipCaptioner,
                                                     blip_dir: Path) -> None:
    first = captioner.caption(picture())
    assert isinstance(first, str) and first.strip()
    assert captioner.caption(picture()) == first
    assert BlipCaptioner(blip_dir, beams=2, max_length=12).caption(picture()) == first


def test_a_rebuilt_model_captions_the_same(captioner: BlipCaptioner, tmp_path: Path) -> None:
    again = BlipCaptioner(build_tiny_blip(tmp_path / "again"), beams=2, max_length=12)
    assert again.caption(picture()) == captioner.caption(picture())


def test_the_prompt_is_part_of_the_conditional_caption(captioner: BlipCaptioner) -> None:
    text = captioner.caption(picture(), "a photo of")
    assert text.startswith("a photo of")
    default = captioner.configured(prompt="a painting of")
    assert default.caption(picture()).startswith("a painting of")
    assert not default.caption(picture(), "").startswith("a painting of")


def test_length_and_beams_are_settings(captioner: BlipCaptioner) -> None:
    short = captioner.configured(max_length=3, beams=1)
    assert short.model is captioner.model  # nothing reloaded
    assert 1 <= len(short.caption(picture()).split()) <= 3
    with pytest.raises(TypeError):
        captioner.configured(temperature=2.0)


def test_other_picture_modes_are_accepted(captioner: BlipCaptioner) -> None:
    assert captioner.caption(Image.new("RGBA", (40, 40), (0, 0, 255, 128)))
    assert captioner.caption(Image.new("L", (40, 40), 90))


def test_loading_stays_offline(blip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    BlipCaptioner(blip_dir)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert torch.get_num_threads() <= loaded.cpu_cores()


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        BlipCaptioner(tmp_path / "nowhere")


def test_shared_loads_once(blip_dir: Path) -> None:
    first = captioner_blip.shared(blip_dir)
    assert captioner_blip.shared(blip_dir) is first
    assert captioner_blip.shared(blip_dir, beams=1).model is first.model
