"""The model cache: lazy, one copy per process, idle models unloaded and freed."""

from __future__ import annotations

import gc
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator

import pytest

from ml import loaded


class FakeModel:
    """Stands in for a loaded model; weak-referenceable so we can see it freed."""


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    loaded.configure(loaded.DEFAULT_IDLE_SECONDS)
    yield
    loaded.unload_all()
    loaded.configure(loaded.DEFAULT_IDLE_SECONDS)


def unique_key() -> tuple[str, str]:
    return ("test", uuid.uuid4().hex)


def counting_loader(calls: list[int], delay: float = 0.0) -> Callable[[], FakeModel]:
    def load() -> FakeModel:
        calls.append(1)
        time.sleep(delay)
        return FakeModel()
    return load


def test_loads_lazily_and_only_once() -> None:
    key, calls = unique_key(), list[int]()
    loader = counting_loader(calls)
    assert key not in loaded.loaded_keys()
    assert calls == []
    first = loaded.get(key, loader)
    assert loaded.get(key, loader) is first
    assert calls == [1]
    assert key in loaded.loaded_keys()


def test_threads_asking_at_once_share_one_load() -> None:
    key, calls = unique_key(), list[int]()
    loader = counting_loader(calls, delay=0.2)
    start = threading.Barrier(8)
    results: list[FakeModel] = []

    def ask() -> None:
        start.wait()
        results.append(loaded.get(key, loader))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert len(results) == 8
    assert all(result is results[0] for result in results)


def test_a_failed_load_is_not_cached() -> None:
    key = unique_key()

    def broken() -> FakeModel:
        raise OSError("disk on fire")

    with pytest.raises(OSError):
        loaded.get(key, broken)
    assert key not in loaded.loaded_keys()
    assert isinstance(loaded.get(key, FakeModel), FakeModel)


def test_idle_models_are_unloaded_and_freed() -> None:
    idle_key, busy_key = unique_key(), unique_key()
    ref = weakref.ref(loaded.get(idle_key, FakeModel))
    time.sleep(0.15)
    loaded.get(busy_key, FakeModel)  # used just now: stays
    assert loaded.unload_idle(0.1) == [idle_key]
    assert idle_key not in loaded.loaded_keys()
    assert busy_key in loaded.loaded_keys()
    gc.collect()
    assert ref() is None


def test_recently_used_models_stay() -> None:
    key = unique_key()
    loaded.get(key, FakeModel)
    assert loaded.unload_idle(60) == []
    assert key in loaded.loaded_keys()


def test_unload_all_returns_every_key() -> None:
    keys = [unique_key() for _ in range(3)]
    for key in keys:
        loaded.get(key, FakeModel)
    assert set(loaded.unload_all()) == set(keys)
    assert loaded.loaded_keys() == []


def test_a_model_in_use_is_never_unloaded() -> None:
    key = unique_key()
    with loaded.using(key, FakeModel) as model:
        time.sleep(0.05)
        assert loaded.unload_idle(0) == []
        assert loaded.unload_all() == []
        assert loaded.get(key, FakeModel) is model
    time.sleep(0.05)
    assert loaded.unload_idle(0.01) == [key]


def test_unload_one_key() -> None:
    key = unique_key()
    loaded.get(key, FakeModel)
    assert loaded.unload(key) is True
    assert loaded.unload(key) is False


def test_the_background_sweeper_unloads_after_the_configured_ttl() -> None:
    key = unique_key()
    loaded.configure(0.2)
    ref = weakref.ref(loaded.get(key, FakeModel))
    deadline = time.monotonic() + 5
    while key in loaded.loaded_keys() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert key not in loaded.loaded_keys()
    gc.collect()
    assert ref() is None


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        loaded.configure(0)
    assert loaded.idle_seconds() == loaded.DEFAULT_IDLE_SECONDS


def test_cpu_cores_is_at_least_one() -> None:
    assert loaded.cpu_cores() >= 1
