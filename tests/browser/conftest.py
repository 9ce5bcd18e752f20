"""A real Salon (``salon web`` under gunicorn) and headless Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
ADMIN = ("admin", "browser test password")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SALON = [sys.executable, "-m", "app.cli"]
TINY_MODELS = {"tiny-wd14": "tagger", "tiny-blip": "captioner"}


def _salon(env: dict[str, str], *args: str) -> None:
    subprocess.run([*SALON, *args], env=env, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny tagger and captioner (``ml.testing``), installed once for every test instance:
    without models an analysis waits for them, and an upload never gets to "done"."""
    pytest.importorskip("transformers", reason="the tiny captioner needs the 'caption' extra")
    from ml.testing import build_tiny_blip, build_tiny_wd14

    root = tmp_path_factory.mktemp("models")
    env = {**os.environ, "SALON_INSTANCE": str(root / "instance"),
           "SALON_MODELS": str(root / "installed"), "SALON_LOG_LEVEL": "WARNING"}
    sources = {"tiny-wd14": build_tiny_wd14(root / "wd14"),
               "tiny-blip": build_tiny_blip(root / "blip")}
    for name, task in TINY_MODELS.items():
        _salon(env, "models", "import", "--custom", "--task", task, name, str(sources[name]))
    return root / "installed"


@pytest.fixture
def salon_env(tmp_path: Path, models_dir: Path) -> dict[str, str]:
    """One throwaway instance: the web server and the worker share this environment."""
    return {**os.environ, "SALON_PORT": str(_free_port()), "SALON_HOST": "127.0.0.1",
            "SALON_INSTANCE": str(tmp_path / "instance"), "SALON_UPLOADS": str(tmp_path / "up"),
            "SALON_MODELS": str(models_dir), "SALON_WEB_THREADS": "4",
            "SALON_LOG_LEVEL": "WARNING"}


@pytest.fixture
def server(salon_env: dict[str, str]) -> Iterator[str]:
    env = salon_env
    subprocess.run([*SALON, "create-admin", "--username", ADMIN[0], "--password", ADMIN[1]],
                   env=env, check=True, capture_output=True, timeout=60)
    process = subprocess.Popen([*SALON, "web"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{env['SALON_PORT']}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            httpx.get(url + "/login", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("salon web did not start in 30 s")


@pytest.fixture
def worker(server: str, salon_env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    """``salon worker`` on the same instance, so uploads get analysed (its log: worker.log)."""
    for name in TINY_MODELS:
        _salon(salon_env, "models", "use", name)
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen([*SALON, "worker", "--concurrency", "1"], env=salon_env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=60)


@pytest.fixture
def page(server: str, worker: None):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(base_url=server)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()
