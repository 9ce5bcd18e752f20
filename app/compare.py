"""What differs between two pictures' recipes.

People compare two generations to learn which change made the difference: a
word added to the prompt, another seed, ten more steps. This service lines
up the basic facts and generation parameters of two pictures and marks
each row as same or different, and diffs prompts word by word so a small
edit in a long prompt stands out. It knows nothing of Flask and is tested
directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

Facts = Mapping[str, Any]


@dataclass(frozen=True)
class Piece:
    """A run of words: ``equal`` in both, ``delete`` only in A, ``insert`` only in B."""

    op: str
    text: str


@dataclass(frozen=True)
class Line:
    """One row of the table: a label and each picture's value, as shown."""

    label: str
    left: str
    right: str

    @property
    def same(self) -> bool:
        return self.left == self.right


@dataclass(frozen=True)
class TextDiff:
    label: str
    left: str
    right: str
    pieces: list[Piece]

    @property
    def same(self) -> bool:
        return self.left == self.right


@dataclass(frozen=True)
class Comparison:
    prompts: list[TextDiff]
    lines: list[Line]

    @property
    def differences(self) -> int:
        rows: list[TextDiff | Line] = [*self.prompts, *self.lines]
        return sum(not row.same for row in rows)


def diff_words(left: str, right: str) -> list[Piece]:
    """Word-level diff of two texts; whitespace differences do not count."""
    a, b = left.split(), right.split()
    pieces: list[Piece] = []
    matcher = SequenceMatcher(a=a, b=b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op in ("equal", "delete", "replace") and a1 > a0:
            pieces.append(Piece("equal" if op == "equal" else "delete", " ".join(a[a0:a1])))
        if op in ("insert", "replace") and b1 > b0:
            pieces.append(Piece("insert", " ".join(b[b0:b1])))
    return pieces


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _size(image: Facts) -> str:
    return f"{image['width']} × {image['height']}"


def _bytes(image: Facts) -> str:
    return f"{int(image.get('size_bytes') or 0):,} bytes"


# (label, where the value lives, how it is shown)
IMAGE_ROWS: list[tuple[str, Callable[[Facts], str]]] = [
    ("Size", _size),
    ("Kind", lambda image: _text(image.get("kind"))),
    ("Type", lambda image: _text(image.get("mime"))),
    ("File size", _bytes),
    ("Rating", lambda image: _text(image.get("rating"))),
    ("Uploaded", lambda image: _text(image.get("created_at"))[:10]),
]
METADATA_ROWS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("Model", "model", _text),
    ("Model hash", "model_hash", _text),
    ("Sampler", "sampler", _text),
    ("Scheduler", "scheduler", _text),
    ("Steps", "steps", _number),
    ("CFG scale", "cfg_scale", _number),
    ("Seed", "seed", _number),
    ("Generator", "generator", _text),
]


def compare(left: Facts, left_meta: Facts | None, right: Facts,
            right_meta: Facts | None) -> Comparison:
    """Line up two pictures (``images`` rows) and their ``image_metadata`` rows."""
    meta_a, meta_b = left_meta or {}, right_meta or {}
    prompts = [_text_diff(label, key, meta_a, meta_b)
               for label, key in (("Prompt", "prompt"), ("Negative prompt", "negative_prompt"))]
    lines = [Line(label, show(left), show(right)) for label, show in IMAGE_ROWS]
    lines += [Line(label, show(meta_a.get(key)), show(meta_b.get(key)))
              for label, key, show in METADATA_ROWS]
    return Comparison(prompts=prompts, lines=lines)


def _text_diff(label: str, key: str, left: Facts, right: Facts) -> TextDiff:
    a, b = _text(left.get(key)).strip(), _text(right.get(key)).strip()
    return TextDiff(label, a, b, diff_words(a, b))
