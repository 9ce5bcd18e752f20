"""WD14 tagger: SmilingWolf's Danbooru taggers run from their ONNX exports.

The v3 family (``wd-swinv2-tagger-v3`` by default; vit, convnext and
eva02-large work the same way) ships ``model.onnx`` and ``selected_tags.csv``.
Preprocessing follows SmilingWolf's reference code exactly, because the
models were trained on it: transparency composited on white, padded to a
white square (centred), BICUBIC resize to the model's input size (read from
the ONNX input shape), float32 in 0–255 with **no** scaling or mean/std, RGB
turned into BGR, NHWC. (Artifex divides by 255 here; that is a bug.)

Outputs are sigmoid probabilities. The four rating rows (category 9) give the
rating by argmax; general tags (0) pass above 0.35 and characters (4) above
0.85, or above the MCut threshold when asked (characters never below 0.15).
Names have ``_`` turned into spaces except kaomoji such as ``^_^``. Every
confidence is kept, and the tag list is read once per model load.
"""

from __future__ import annotations

import copy
import csv
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ml import loaded

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TAGS_FILE = "selected_tags.csv"
DEFAULT_SIZE = 448
CATEGORY_RATING, CATEGORY_GENERAL, CATEGORY_CHARACTER = 9, 0, 4
RATINGS = ("general", "sensitive", "questionable", "explicit")
CHARACTER_MCUT_FLOOR = 0.15
WHITE = (255, 255, 255)

# The reference's list: these keep their underscores, everything else gets spaces.
KAOMOJI = frozenset({
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3",
    "6_9", ">_o", "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||",
})


def display_name(raw: str) -> str:
    return raw if raw in KAOMOJI else raw.replace("_", " ")


# -- the tag list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TagTable:
    """``selected_tags.csv`` in the model's output order, split by category."""

    names: tuple[str, ...]
    categories: np.ndarray
    rating: np.ndarray
    general: np.ndarray
    character: np.ndarray
    rating_labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)


def load_tags(csv_path: str | os.PathLike[str]) -> TagTable:
    """Read the tag list (columns ``tag_id,name,category,count``) once."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = [(row["name"], int(row["category"])) for row in csv.DictReader(handle)]
    if not rows:
        raise ValueError(f"{csv_path}: no tags")
    categories = np.array([category for _, category in rows], dtype=np.int16)
    rating = np.flatnonzero(categories == CATEGORY_RATING)
    return TagTable(
        names=tuple(display_name(name) for name, _ in rows),
        categories=categories,
        rating=rating,
        general=np.flatnonzero(categories == CATEGORY_GENERAL),
        character=np.flatnonzero(categories == CATEGORY_CHARACTER),
        rating_labels=_rating_labels([rows[index][0] for index in rating]),
    )


def _rating_labels(raw: list[str]) -> tuple[str, ...]:
    """The rating rows as Salon's ratings; by position if a model names them otherwise."""
    if len(raw) != len(RATINGS):
        raise ValueError(f"expected the four WD14 rating rows, found {raw}")
    labels = tuple(name.lower().removeprefix("rating:") for name in raw)
    if sorted(labels) == sorted(RATINGS):
        return labels
    log.warning("unknown rating labels %s; reading them in the usual order", raw)
    return RATINGS


# -- preprocessing ----------------------------------------------------------------------------


def has_transparency(image: Image.Image) -> bool:
    return bool({"A", "a"} & set(image.getbands())) or "transparency" in image.info


def flatten_on_white(image: Image.Image) -> Image.Image:
    """RGB, with any alpha channel or palette transparency composited on white."""
    if not has_transparency(image):
        return image if image.mode == "RGB" else image.convert("RGB")
    canvas = Image.new("RGBA", image.size, (*WHITE, 255))
    canvas.alpha_composite(image.convert("RGBA"))
    return canvas.convert("RGB")


def pad_square(image: Image.Image) -> Image.Image:
    """The picture centred on a white square whose side is its longer side."""
    width, height = image.size
    side = max(width, height)
    if width == height:
        return image
    square = Image.new("RGB", (side, side), WHITE)
    square.paste(image, ((side - width) // 2, (side - height) // 2))
    return square


def preprocess(image: Image.Image, size: int) -> np.ndarray:
    """The reference input for one picture: ``(size, size, 3)`` float32 BGR in 0–255."""
    square = pad_square(flatten_on_white(image))
    if square.size != (size, size):
        square = square.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(square)[:, :, ::-1].astype(np.float32)


def input_size(shape: Sequence[Any]) -> int:
    """The square side from an NHWC input shape such as ``['batch', 448, 448, 3]``."""
    for value in shape[1:3]:
        if isinstance(value, int) and value > 0:
            return value
    log.warning("model input shape %s has no fixed size; using %d", shape, DEFAULT_SIZE)
    return DEFAULT_SIZE


# -- thresholds -----------------------------------------------------------------------------


def mcut_threshold(probs: np.ndarray | Sequence[float]) -> float:
    """Maximum-cut threshold (Largeron et al. 2012): the middle of the widest gap
    between consecutive probabilities sorted high to low. With fewer than two
    probabilities there is no gap and nothing passes (1.0)."""
    ordered = np.sort(np.asarray(probs, dtype=np.float64).ravel())[::-1]
    if ordered.size < 2:
        return 1.0
    gaps = ordered[:-1] - ordered[1:]
    widest = int(gaps.argmax())
    return float((ordered[widest] + ordered[widest + 1]) / 2)


def pick(probs: np.ndarray, indices: np.ndarray, names: Sequence[str], threshold: float,
         cap: int | None = None) -> list[tuple[str, float]]:
    """``(name, confidence)`` strictly above ``threshold``, most confident first."""
    chosen = probs[indices]
    keep = np.flatnonzero(chosen > threshold)
    keep = keep[np.argsort(-chosen[keep], kind="stable")]
    if cap is not None:
        keep = keep[:cap]
    return [(names[indices[index]], float(chosen[index])) for index in keep]


# -- the tagger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TagResult:
    general: list[tuple[str, float]]
    character: list[tuple[str, float]]
    rating: str
    ratings: dict[str, float]

    def rows(self) -> list[tuple[str, str, float]]:
        """``(name, category, confidence)`` for storage: general, then character tags."""
        return ([(name, "general", value) for name, value in self.general]
                + [(name, "character", value) for name, value in self.character])


class WD14Tagger:
    """One loaded WD14 model; ``tag`` runs a batch of decoded pictures."""

    def __init__(self, model_dir: str | os.PathLike[str], *, general_threshold: float = 0.35,
                 character_threshold: float = 0.85, mcut: bool = False,
                 max_tags: int | None = None, threads: int | None = None) -> None:
        folder = Path(model_dir)
        for name in (MODEL_FILE, TAGS_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"WD14 model folder {folder} has no {name}")
        self.model_dir = folder
        self.tags = load_tags(folder / TAGS_FILE)
        self.session = loaded.onnx_session(folder / MODEL_FILE, threads)
        self._bind_io()
        self.general_threshold = general_threshold
        self.character_threshold = character_threshold
        self.mcut = mcut
        self.max_tags = max_tags

    def _bind_io(self) -> None:
        model_input = self.session.get_inputs()[0]
        self.input_name: str = model_input.name
        self.size = input_size(model_input.shape)
        model_output = self.session.get_outputs()[0]
        self.output_name: str = model_output.name
        width = model_output.shape[-1]
        if isinstance(width, int) and width != len(self.tags):
            raise ValueError(f"{self.model_dir}: the model has {width} outputs but"
                             f" {TAGS_FILE} lists {len(self.tags)} tags")

    def configured(self, **settings: Any) -> WD14Tagger:
        """The same loaded model with other thresholds (no reload, nothing copied)."""
        clone = copy.copy(self)
        for name, value in settings.items():
            if name not in ("general_threshold", "character_threshold", "mcut", "max_tags"):
                raise TypeError(f"unknown WD14 setting {name!r}")
            setattr(clone, name, value)
        return clone

    def batch(self, images: Sequence[Image.Image]) -> np.ndarray:
        if len(images) == 1:
            return preprocess(images[0], self.size)[np.newaxis]
        return np.stack([preprocess(image, self.size) for image in images])

    def probabilities(self, images: Sequence[Image.Image]) -> np.ndarray:
        """The raw ``(N, tags)`` sigmoid outputs."""
        (probs,) = self.session.run([self.output_name], {self.input_name: self.batch(images)})
        return np.asarray(probs)

    def tag(self, images: Sequence[Image.Image]) -> list[TagResult]:
        if not images:
            return []
        return [self.decode(row) for row in self.probabilities(images)]

    def decode(self, probs: np.ndarray) -> TagResult:
        """Tags, characters and rating from one picture's probabilities."""
        table = self.tags
        ratings = {label: float(probs[index])
                   for label, index in zip(table.rating_labels, table.rating, strict=True)}
        general = pick(probs, table.general, table.names, self._general_cut(probs),
                       self.max_tags)
        character = pick(probs, table.character, table.names, self._character_cut(probs))
        rating = max(ratings, key=ratings.__getitem__)
        return TagResult(general, character, rating, ratings)

    def _general_cut(self, probs: np.ndarray) -> float:
        if self.mcut:
            return mcut_threshold(probs[self.tags.general])
        return self.general_threshold

    def _character_cut(self, probs: np.ndarray) -> float:
        if self.mcut:
            return max(CHARACTER_MCUT_FLOOR, mcut_threshold(probs[self.tags.character]))
        return self.character_threshold


def shared(model_dir: str | os.PathLike[str], **settings: Any) -> WD14Tagger:
    """The process's one loaded copy of the model in ``model_dir``, with these settings."""
    folder = Path(model_dir).resolve()
    base = loaded.get(("wd14", str(folder)), lambda: WD14Tagger(folder))
    return base.configured(**settings) if settings else base
