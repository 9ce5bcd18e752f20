"""Is a resource that blocked jobs wait for available now?

Resources are named ``<type>:<name>``: ``program:ffmpeg``, ``python:transformers``
(an optional package), ``model:<name>`` and ``task:<task>`` (the model in use
for a task; registered by the ML steps). Checkers are cheap and side-effect free.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from typing import Any

Checker = Callable[[str, dict[str, Any]], bool]
CHECKERS: dict[str, Checker] = {
    "program": lambda name, _config: shutil.which(name) is not None,
    "python": lambda name, _config: importlib.util.find_spec(name) is not None,
}


def register_checker(kind: str, checker: Checker) -> None:
    CHECKERS[kind] = checker


def available(resource: str, config: dict[str, Any]) -> bool:
    kind, _, name = resource.partition(":")
    checker = CHECKERS.get(kind)
    return checker is not None and checker(name, config)
