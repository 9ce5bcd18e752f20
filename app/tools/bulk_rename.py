"""bulk-rename: give many files names from a pattern, delivered as one ZIP.

Pattern tokens: ``{{index}}`` (startIndex, startIndex+1 ...), ``{{padded}}``
(the same, zero-padded to the width of the largest index) and
``{{original}}`` (the file's own name without its extension). The files are
copied unchanged.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from pathlib import Path

from pydantic import Field

from app.tools import imaging
from app.tools.base import (
    InputFile,
    InputSpec,
    OutputFile,
    ToolContext,
    ToolResult,
    ToolSettings,
    tool,
)

MAX_FILES = 500
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')


class BulkRenameSettings(ToolSettings):
    pattern: str = Field("image-{{index}}", min_length=1, max_length=1000,
                         description="Name pattern: {{index}}, {{padded}}, {{original}}.")
    startIndex: int = Field(1, ge=0, description="The first index.")


def new_name(pattern: str, source: InputFile, index: int, width: int) -> str:
    """The file name the pattern gives ``source`` (its extension kept, never a path)."""
    name = (pattern.replace("{{index}}", str(index))
            .replace("{{padded}}", str(index).zfill(width))
            .replace("{{original}}", imaging.stem(source.name)))
    name = _UNSAFE.sub("_", name).strip(" .") or f"image-{index}"
    ext = Path(source.name).suffix.lower() or f".{imaging.output_ext(source)}"
    return f"{name[:200]}{ext}"


def unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate.lower() in taken:
        path = Path(name)
        candidate = f"{path.stem}-{number}{path.suffix}"
        number += 1
    taken.add(candidate.lower())
    return candidate


@tool("bulk-rename", title="Bulk rename", category="optimization",
      settings=BulkRenameSettings, inputs=InputSpec(min_files=1, max_files=MAX_FILES),
      description="Rename many files from a pattern and download them as one ZIP.")
def bulk_rename(ctx: ToolContext, s: BulkRenameSettings) -> ToolResult:
    width = len(str(s.startIndex + len(ctx.inputs) - 1))
    path = ctx.output(f"renamed-{uuid.uuid4().hex[:8]}.zip")
    taken: set[str] = set()
    names = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for offset, source in enumerate(ctx.inputs):
            name = unique(new_name(s.pattern, source, s.startIndex + offset, width), taken)
            archive.write(source.path, name)  # streamed from the file, never whole in memory
            names.append({"original": source.name, "renamed": name})
            ctx.progress((offset + 1) / len(ctx.inputs), name)
    return ToolResult(files=[OutputFile(path, path.name, "application/zip")],
                      data={"files": names})
