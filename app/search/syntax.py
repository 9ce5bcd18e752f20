"""The search language's vocabulary: its limits, its tree, and its error.

Shared by the parser (which builds the tree), the metatag value readers and
the compiler (which turns the tree into SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.errors import BadRequest

MAX_LENGTH = 1000
MAX_TERMS = 100
MAX_DEPTH = 16

RATINGS = {"g": "general", "s": "sensitive", "q": "questionable", "e": "explicit"}
HAS_VALUES = ("caption", "prompt", "tags", "video")
ORDERS = ("newest", "oldest", "random", "width", "height", "size", "nsfw", "relevance")
SOURCES = ("local", "remote")
AGE_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400, "y": 365 * 86400}
META_PREFIX = re.compile(r"([A-Za-z_]+):")


class QueryError(BadRequest):
    """A query the parser refuses; ``position`` is the 1-based column."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position=position)
        self.position = position


# -- the tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """Bounds of a numeric or date metatag; ``None`` means unbounded."""

    low: Any = None
    high: Any = None
    low_inclusive: bool = True
    high_inclusive: bool = True


@dataclass(frozen=True)
class Tag:
    name: str
    position: int


@dataclass(frozen=True)
class Wildcard:
    pattern: str
    position: int


@dataclass(frozen=True)
class Text:
    text: str
    position: int


@dataclass(frozen=True)
class Meta:
    key: str
    value: Any
    position: int


@dataclass(frozen=True)
class Not:
    child: Node
    position: int


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    position: int


Node = Tag | Wildcard | Text | Meta | Not | And | Or


