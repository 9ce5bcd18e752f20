"""Run a tool directly (no web, no job) on real pictures, for the per-tool tests."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from app.media.sniff import sniff
from app.tools.base import InputFile, ToolContext, ToolResult, get_tool

_counter = itertools.count()


def mime_of(path: Path) -> str:
    head = path.read_bytes()[:64]
    found = sniff(head)
    if found is not None:
        return found.mime
    if head.startswith(b"%PDF"):
        return "application/pdf"
    return "image/svg+xml" if b"<svg" in path.read_bytes()[:4096] else "application/octet-stream"


def as_input(path: Path, name: str | None = None) -> InputFile:
    return InputFile(path, name or path.name, mime_of(path))


def run_tool(tool_id: str, files: list[Path], settings: dict[str, Any] | None = None, *,
             extra: dict[str, Path] | None = None, workdir: Path,
             max_pixels: int = 100_000_000) -> ToolResult:
    tool = get_tool(tool_id)
    assert tool is not None, f"no tool {tool_id}"
    out = workdir / f"run{next(_counter)}"
    out.mkdir(parents=True)
    ctx = ToolContext([as_input(p) for p in files],
                      {k: as_input(v) for k, v in (extra or {}).items()}, out, max_pixels)
    return tool.process(ctx, tool.parse_settings(settings))


def sample(name: str, folder: Path, fmt: str = "png") -> Path:
    """A scikit-image sample photo (astronaut, chelsea, coffee, rocket, camera ...) as a file."""
    import skimage.data

    pixels = getattr(skimage.data, name)()
    path = folder / f"{name}.{fmt}"
    if not path.exists():
        image = Image.fromarray(np.asarray(pixels))
        if fmt == "jpg":
            image = image.convert("RGB")
        image.save(path)
    return path


def pixels(path: Path, mode: str = "RGB") -> np.ndarray:
    """A picture file's pixels as integers (for comparisons that may go negative)."""
    with Image.open(path) as image:
        return np.asarray(image.convert(mode)).astype(int)


def bad_field(tool_id: str, settings: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The locations pydantic names for invalid ``settings``."""
    tool = get_tool(tool_id)
    assert tool is not None
    with pytest.raises(ValidationError) as info:
        tool.parse_settings(settings)
    return [error["loc"] for error in info.value.errors()]
