"""The process-wide cache of loaded models.

Models are large (hundreds of MB to GB) and slow to load, so a worker loads
each one lazily, keeps it warm between jobs and drops it once it has been
idle for ``MODEL_IDLE_SECONDS`` (``SALON_MODEL_IDLE_SECONDS``, default 300).
There is never more than one copy of a model per process: concurrent callers
asking for the same key wait for a single load, and a model that is in use
(see ``using``) is never unloaded under its caller's feet.

Keys are any hashable value; callers use something that names the model,
e.g. ``("wd14", "/models/wd-swinv2-tagger-v3")``. Unloading drops the cache's
reference, collects garbage and asks glibc to return freed memory to the OS.

Also here, because every model loader needs them: ``cpu_cores`` (the thread
budget) and ``onnx_session`` (ONNX Runtime on the CPU, sized to it).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_IDLE_SECONDS = 300.0
MIN_SWEEP_SECONDS = 1.0
MAX_SWEEP_SECONDS = 60.0


@dataclass
class _Entry:
    value: Any
    last_used: float
    busy: int = 0


class _State:
    """Everything mutable, in one place so a forked child can start afresh."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[Hashable, _Entry] = {}
        self.loading: dict[Hashable, threading.Lock] = {}
        self.idle_seconds = DEFAULT_IDLE_SECONDS
        self.wake = threading.Event()
        self.reaper: threading.Thread | None = None


_state = _State()


def cpu_cores() -> int:
    """The cores this process may run on (affinity-aware where the OS says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not every platform has affinity
        return max(1, os.cpu_count() or 1)


def onnx_session(path: str | os.PathLike[str], threads: int | None = None) -> Any:
    """An ONNX Runtime session on the CPU, its thread pool sized to the cores we may use."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: the CPU provider's notices are noise here
    # Idle pool threads sleep instead of spinning: between runs this process decodes and
    # resizes pictures, and other jobs share the cores; spinning threads would steal them.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(os.fspath(path), sess_options=options,
                                providers=["CPUExecutionProvider"])


def configure(idle_seconds: float) -> None:
    """Set the idle TTL (from the ``MODEL_IDLE_SECONDS`` setting); takes effect at once."""
    if idle_seconds <= 0:
        raise ValueError("idle_seconds must be positive")
    with _state.lock:
        _state.idle_seconds = float(idle_seconds)
    _state.wake.set()


def idle_seconds() -> float:
    return _state.idle_seconds


def get(key: Hashable, loader: Callable[[], T]) -> T:
    """The one instance for ``key``, loading it with ``loader()`` on first use."""
    entry = _acquire(key, loader, busy=False)
    return entry.value


@contextlib.contextmanager
def using(key: Hashable, loader: Callable[[], T]) -> Iterator[T]:
    """Like ``get``, and the model is not unloaded until the block ends."""
    entry = _acquire(key, loader, busy=True)
    try:
        yield entry.value
    finally:
        with _state.lock:
            entry.busy -= 1
            entry.last_used = time.monotonic()


def _acquire(key: Hashable, loader: Callable[[], Any], *, busy: bool) -> _Entry:
    _ensure_reaper()
    entry = _touch(key, busy)
    if entry is not None:
        return entry
    with _state.lock:
        key_lock = _state.loading.setdefault(key, threading.Lock())
    with key_lock:  # one load per key; other keys load in parallel
        entry = _touch(key, busy)
        if entry is not None:
            return entry
        started = time.perf_counter()
        value = loader()
        log.info("loaded model %r in %.2f s", key, time.perf_counter() - started)
        with _state.lock:
            entry = _Entry(value, time.monotonic(), busy=int(busy))
            _state.entries[key] = entry
        return entry


def _touch(key: Hashable, busy: bool) -> _Entry | None:
    with _state.lock:
        entry = _state.entries.get(key)
        if entry is not None:
            entry.last_used = time.monotonic()
            entry.busy += int(busy)
        return entry


def loaded_keys() -> list[Hashable]:
    with _state.lock:
        return list(_state.entries)


def unload(key: Hashable) -> bool:
    """Drop one model now (unless it is in use); True if it was dropped."""
    with _state.lock:
        entry = _state.entries.get(key)
        if entry is None or entry.busy:
            return False
        del _state.entries[key]
    del entry
    _release_memory()
    return True


def unload_idle(max_idle_seconds: float | None = None) -> list[Hashable]:
    """Drop the models unused for longer than ``max_idle_seconds``; return their keys."""
    limit = _state.idle_seconds if max_idle_seconds is None else max_idle_seconds
    now = time.monotonic()
    with _state.lock:
        stale = [key for key, entry in _state.entries.items()
                 if not entry.busy and now - entry.last_used > limit]
        dropped = [_state.entries.pop(key) for key in stale]
    if stale:
        del dropped
        _release_memory()
        log.info("unloaded idle model(s): %s", ", ".join(map(repr, stale)))
    return stale


def unload_all() -> list[Hashable]:
    """Drop every model not in use (at shutdown, or to free memory on demand)."""
    return unload_idle(-1.0)


def _release_memory() -> None:
    """Collect cycles, then ask glibc to hand freed heap pages back to the OS."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:  # pragma: no cover - no libc to load
        return None


# -- the background sweeper -----------------------------------------------------------------


def _sweep_interval() -> float:
    return min(MAX_SWEEP_SECONDS, max(MIN_SWEEP_SECONDS, _state.idle_seconds / 4))


def _sweep_forever(state: _State) -> None:
    while True:
        state.wake.wait(_sweep_interval())
        state.wake.clear()
        try:
            unload_idle()
        except Exception:  # the sweeper must outlive one bad unload
            log.exception("unloading idle models failed")


def _ensure_reaper() -> None:
    if _state.reaper is not None:
        return
    with _state.lock:
        if _state.reaper is None:
            thread = threading.Thread(target=_sweep_forever, args=(_state,),
                                      name="salon-model-reaper", daemon=True)
            thread.start()
            _state.reaper = thread


def _after_fork_in_child() -> None:
    """A forked child has no sweeper thread and must not inherit held locks."""
    global _state
    fresh = _State()
    fresh.entries = dict(_state.entries)
    fresh.idle_seconds = _state.idle_seconds
    _state = fresh


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
