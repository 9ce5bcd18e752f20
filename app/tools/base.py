"""The image-tool registry: what a tool is and how it is looked up.

A tool is one module in ``app/tools/`` that declares itself with ``@tool``:
an id (ashim's ids), a title, a category, a pydantic settings model (ranges
and defaults from ashim's route schemas) and a process function. Everything
else — the JSON API, the generated HTML forms, ``salon tools``, pipelines,
batch runs and the job that runs a tool — is built from the registry, so a
tool module never imports Flask and never touches the database.

The process function receives a ``ToolContext`` (input files already
received and checked, an empty work folder for outputs, a progress callback)
and the validated settings, and returns a ``ToolResult``: output files
written into the work folder plus JSON data (``info``, ``color-palette``,
``barcode-read`` ... answer mostly with data).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from app.errors import AppError

CATEGORIES = (
    ("essentials", "Essentials"),
    ("optimization", "Optimization"),
    ("adjustments", "Adjustments"),
    ("watermark", "Watermark & overlay"),
    ("utilities", "Utilities"),
    ("layout", "Layout & composition"),
    ("format", "Format & conversion"),
)
CATEGORY_IDS = tuple(category for category, _ in CATEGORIES)


#: The live preview runs on a copy at most this many pixels across.
PREVIEW_SIZE = 480

#: ``Field(..., json_schema_extra=PX)`` marks a length in pixels of the picture (a font
#: size, a border width, a blur radius): the live preview scales it with the picture.
PX: dict[str, Any] = {"x-unit": "px"}


def is_px(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("x-unit") == "px"


class ToolSettings(BaseModel):
    """Base of every tool's settings: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    #: the smallest a length may shrink to in the preview (a 2 px font renders nothing)
    preview_floor: ClassVar[dict[str, float]] = {}

    def for_preview(self, scale_x: float, scale_y: float) -> Self:
        """These settings for a copy of the picture ``scale_x`` × ``scale_y`` its size
        (the live preview): every length in pixels shrinks with the picture, so the
        preview looks like the full-size result. Not validated again: a font of 48 px
        may become 12 px on the copy, below the form's minimum."""
        changes = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if is_px(info) and isinstance(value, float):
                floor = min(value, self.preview_floor.get(name, 0.0))
                changes[name] = max(value * scale_x, floor)
        return self.model_copy(update=changes) if changes else self


S = TypeVar("S", bound=ToolSettings)


class ToolError(AppError):
    """The tool could not process this input (422): the message says why."""

    status = 422


class CanvasTooLarge(AppError):
    """A requested output would exceed the instance's pixel limit (413)."""

    status = 413


@dataclass(frozen=True)
class InputSpec:
    """What files a tool takes.

    ``min_files``..``max_files`` main inputs (the multipart field ``file``,
    repeatable; 0 for generators such as ``qr-generate``) plus named extra
    single-file inputs that are required (``compose`` takes ``overlay``,
    ``watermark-image`` takes ``watermark``). ``accepts`` lists what the main
    inputs may be: ``image`` (any type Salon ingests, sniffed by magic bytes),
    ``svg`` or ``pdf`` (the tool itself sanitises and bounds those).
    """

    min_files: int = 1
    max_files: int = 1
    extra: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ("image",)


@dataclass(frozen=True)
class InputFile:
    path: Path
    name: str  # the name the user gave it (for output names), never used as a path
    mime: str  # from the magic bytes: image/png, image/svg+xml, application/pdf ...


@dataclass(frozen=True)
class OutputFile:
    path: Path  # inside ctx.workdir
    name: str  # download name, e.g. "astronaut_resize.png"
    mime: str


@dataclass
class ToolResult:
    files: list[OutputFile] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # The files only illustrate the data (barcode outlines, a difference image): the
    # command line prints the data and keeps the files only when asked to.
    illustrative: bool = False


@dataclass(frozen=True)
class ToolContext:
    inputs: Sequence[InputFile]
    extra: dict[str, InputFile]
    workdir: Path
    max_pixels: int
    progress: Callable[[float, str], None] = lambda fraction, message: None

    @property
    def input(self) -> InputFile:
        """The one main input of a single-file tool."""
        return self.inputs[0]

    def output(self, name: str) -> Path:
        """A path in the work folder for an output named ``name`` (a plain file name)."""
        safe = Path(name).name
        if not safe or safe in {".", ".."}:
            raise ToolError(f"bad output name {name!r}")
        return self.workdir / safe

    def check_canvas(self, width: float, height: float) -> None:
        """Refuse an output canvas larger than SALON_MAX_PIXELS before allocating it."""
        if width < 1 or height < 1:
            raise ToolError(f"the output would be empty ({width:.0f} × {height:.0f})")
        if width * height > self.max_pixels:
            raise CanvasTooLarge(
                f"the output would be {width:.0f} × {height:.0f} pixels; this instance "
                f"allows at most {self.max_pixels:,} pixels per picture",
            )


ProcessFn = Callable[[ToolContext, Any], ToolResult]


@dataclass(frozen=True)
class Tool(Generic[S]):
    id: str
    title: str
    category: str
    description: str
    settings: type[S]
    process: Callable[[ToolContext, S], ToolResult]
    inputs: InputSpec = InputSpec()
    # One picture in, one picture out: usable as a pipeline step and in batch runs.
    pipeline: bool = False
    # Fast enough to re-run on every settings change for the page's live preview.
    cheap: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def previewable(self) -> bool:
        """A live preview on the page: cheap, and one picture in (or none, like qr-generate)."""
        return self.cheap and self.inputs.max_files <= 1 and not self.inputs.extra

    def parse_settings(self, raw: dict[str, Any] | None) -> S:
        """Validated settings; pydantic's ValidationError names each bad field."""
        return self.settings.model_validate(raw or {})


TOOLS: dict[str, Tool[Any]] = {}
ALIASES: dict[str, str] = {}


def tool(tool_id: str, *, title: str, category: str, settings: type[S], description: str = "",
         inputs: InputSpec = InputSpec(), pipeline: bool = False, cheap: bool = False,
         aliases: tuple[str, ...] = ()) -> Callable[[Callable[[ToolContext, S], ToolResult]],
                                                    Callable[[ToolContext, S], ToolResult]]:
    """Register the decorated process function as the tool ``tool_id``."""
    if category not in CATEGORY_IDS:
        raise ValueError(f"unknown tool category {category!r}")

    def register(process: Callable[[ToolContext, S], ToolResult]
                 ) -> Callable[[ToolContext, S], ToolResult]:
        if tool_id in TOOLS:
            raise ValueError(f"tool {tool_id!r} registered twice")
        TOOLS[tool_id] = Tool(tool_id, title, category, description or (process.__doc__ or ""),
                              settings, process, inputs, pipeline, cheap, aliases)
        for alias in aliases:
            ALIASES[alias] = tool_id
        return process

    return register


def load_tools() -> dict[str, Tool[Any]]:
    """Import every tool module in this package (once: later calls cost nothing)."""
    global _loaded
    if not _loaded:
        package = importlib.import_module("app.tools")
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.startswith("_") or module.name in _NOT_TOOLS:
                continue
            importlib.import_module(f"app.tools.{module.name}")
        _loaded = True
    return TOOLS


_loaded = False


# Modules of app/tools that are machinery, not tools.
_NOT_TOOLS = {"base", "imaging", "registry", "service", "runner", "jobs", "pipelines",
              "batch", "versions", "forms", "svg", "fonts"}


def get_tool(tool_id: str) -> Tool[Any] | None:
    """The tool with this id or alias, or None."""
    load_tools()
    return TOOLS.get(ALIASES.get(tool_id, tool_id))


def all_tools() -> list[Tool[Any]]:
    load_tools()
    order = {category: index for index, category in enumerate(CATEGORY_IDS)}
    return sorted(TOOLS.values(), key=lambda t: (order[t.category], t.title))
