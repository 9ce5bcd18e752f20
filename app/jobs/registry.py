"""Job kinds: one handler per kind, with the resources and limits it declares.

Handler modules are listed here and imported by ``load_handlers``; an
instance may add its own modules with ``SALON_JOB_MODULES`` (plugins, and the
test suite's deliberately misbehaving jobs).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.jobs.context import JobContext

Handler = Callable[["JobContext"], Any]

BUILTIN_MODULES = ("app.jobs.handlers", "app.analysis.job", "app.analysis.ml_steps",
                   "app.federation.jobs", "app.tools.runner", "app.tools.batch")


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    cpu_slots: int = 1
    gpu_mb: int = 0
    timeout_seconds: float = 600
    max_attempts: int = 3
    priority: int = 0


KINDS: dict[str, JobKind] = {}


def job_kind(name: str, **options: Any) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``name``."""

    def register(handler: Handler) -> Handler:
        KINDS[name] = JobKind(name, handler, **options)
        return handler

    return register


def load_handlers(extra: Iterable[str] = ()) -> dict[str, JobKind]:
    for module in (*BUILTIN_MODULES, *extra):
        importlib.import_module(module)
    return KINDS


def get_kind(name: str) -> JobKind | None:
    return KINDS.get(name)
