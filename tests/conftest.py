"""Shared fixtures: a throwaway Salon per test, real SQLite, real files."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from app import create_app
from app.auth.accounts import create_user
from app.cli import initialise, main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"
PASSWORD = "correct horse battery"


class BufferedClient(FlaskClient):
    """Reads every response whole and closes it, so streamed files are not left open."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({
        "TESTING": True,
        "INSTANCE": tmp_path / "instance",
        "DATABASE": tmp_path / "instance" / "test.db",
        "UPLOADS": tmp_path / "uploads",
        "SECRET_KEY": "test-secret",
        "MAX_UPLOAD_MB": 8,
        "MAX_PIXELS": 40_000_000,
        "LOGIN_ATTEMPTS": 3,
    })
    app.test_client_class = BufferedClient
    initialise(app)
    yield app
    app.extensions["salon.db"].close()


@pytest.fixture
def db(app: Flask) -> Any:
    return app.extensions["salon.db"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class SalonRunner:
    """Runs ``salon`` commands against the test app."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.runner = CliRunner()

    def invoke(self, args: list[str]) -> Any:
        return self.runner.invoke(main, args, obj=self.app, catch_exceptions=False)


@pytest.fixture
def runner(app: Flask) -> SalonRunner:
    return SalonRunner(app)


@pytest.fixture
def make_user(db: Any) -> Callable[..., int]:
    def make(username: str = "alice", role: str = "user", password: str = PASSWORD) -> int:
        return create_user(db, username, password, role=role)

    return make


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """A logged-in (or anonymous) test client that knows the page's CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self) -> str:
        return csrf_from(self.client.get("/login").get_data(as_text=True))

    def login(self, username: str = "alice", password: str = PASSWORD) -> Any:
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": self.csrf()})

    def post(self, url: str, data: dict | None = None, **kwargs: Any) -> Any:
        data = {"csrf_token": self.csrf(), **(data or {})}
        return self.client.post(url, data=data, **kwargs)

    def upload(self, content: bytes, name: str = "picture.jpg", **fields: str) -> Any:
        body, content_type = multipart({"file": (name, content), **fields})
        return self.client.post("/api/v1/images", data=body, content_type=content_type,
                                headers={"X-CSRFToken": self.csrf()})

    def page(self, url: str, status: int = 200) -> BeautifulSoup:
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code)
        return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture
def alice(app: Flask, make_user: Callable[..., int]) -> Browser:
    make_user("alice")
    user = Browser(app.test_client())
    assert user.login("alice").status_code == 302
    return user


@pytest.fixture
def bob(app: Flask, make_user: Callable[..., int]) -> Browser:
    make_user("bob")
    user = Browser(app.test_client())
    assert user.login("bob").status_code == 302
    return user


@pytest.fixture
def admin(app: Flask, make_user: Callable[..., int]) -> Browser:
    make_user("root", role="admin")
    user = Browser(app.test_client())
    assert user.login("root").status_code == 302
    return user


def multipart(fields: dict[str, Any]) -> tuple[bytes, str]:
    """Encode a multipart body in memory (Werkzeug's test encoder spools big files to
    temporary files that stay open when the server refuses the body early)."""
    boundary = "salon-test-boundary-7d1f"
    parts = []
    for key, value in fields.items():
        if isinstance(value, tuple):
            name, data = value
            head = (f'Content-Disposition: form-data; name="{key}"; filename="{name}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n")
        else:
            head, data = f'Content-Disposition: form-data; name="{key}"\r\n\r\n', value.encode()
        parts.append(f"--{boundary}\r\n{head}".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def jpeg_bytes(size: tuple[int, int] = (640, 480), color: tuple[int, int, int] = (200, 80, 40),
               **save: Any) -> bytes:
    """A real JPEG with some structure (a gradient) so it is not trivially compressible."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    overlay = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    Image.blend(image, overlay, 0.5).save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def png_bytes(size: tuple[int, int] = (320, 240), mode: str = "RGB", **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "teal").save(buffer, "PNG", **save)
    return buffer.getvalue()


def sample_photo(name: str) -> bytes:
    """A scikit-image sample photo (astronaut, chelsea, coffee, rocket) as JPEG bytes."""
    from skimage import data

    array = getattr(data, name)()
    buffer = io.BytesIO()
    Image.fromarray(array).convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def tiny_model_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny WD14 and a tiny BLIP, built once per test session."""
    from ml.testing import build_tiny_blip, build_tiny_wd14

    root = tmp_path_factory.mktemp("tiny-models")
    return {"wd14": build_tiny_wd14(root / "wd14"), "blip": build_tiny_blip(root / "blip")}


@pytest.fixture
def tiny_models(app: Flask, db: Any, tiny_model_folders: dict[str, Path]) -> None:
    """Install the tiny models as custom models of this instance and use them."""
    from app.queries.settings import set_setting
    from ml import install

    models = app.config["MODELS"]
    install.import_model(models, "tiny-wd14", tiny_model_folders["wd14"], custom_task="tagger")
    install.import_model(models, "tiny-blip", tiny_model_folders["blip"],
                          custom_task="captioner")
    set_setting(db, "model.tagger", "tiny-wd14")
    set_setting(db, "model.captioner", "tiny-blip")
