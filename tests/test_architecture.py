"""Rules the whole code base keeps: endpoints require login, settings are documented,
the schema comes only from migrations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.auth.access import GALLERY, PUBLIC, access_level
from app.config import SETTINGS
from app.db import Database

REPO = Path(__file__).resolve().parent.parent
SAMPLE_ARGS = {"peer_id": 1, "remote_id": "r1",
               "image_id": 1, "user_id": 1, "key_id": 1, "job_id": 1, "variant": "thumb",
               "filename": "x.css", "kind": "noop", "collection_id": 1, "name": "cat",
               "action": "rename", "peer_action": "sync",
               "tool_id": "resize", "pipeline_id": 1}


def _url(app, rule) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{arg: SAMPLE_ARGS[arg] for arg in rule.arguments})


def test_every_non_public_endpoint_refuses_anonymous_visitors(app, make_user) -> None:
    make_user("someone")  # past the setup page
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        with app.test_request_context():
            level = access_level(rule.endpoint)
        if level in (PUBLIC, GALLERY):
            continue
        url = _url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]
            checked += 1
    assert checked > 15


def test_gallery_endpoints_refuse_anonymous_while_gallery_is_private(app, make_user) -> None:
    make_user("someone")
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        with app.test_request_context():
            if access_level(rule.endpoint) != GALLERY:
                continue
        assert client.get(_url(app, rule)).status_code in (302, 401), rule


def test_public_endpoints_are_few_and_known(app) -> None:
    with app.test_request_context():
        public = {rule.endpoint for rule in app.url_map.iter_rules()
                  if access_level(rule.endpoint) == PUBLIC}
        # Server-to-server endpoints authenticate by signature, not by login.
        federation_api = {rule.endpoint for rule in app.url_map.iter_rules()
                          if rule.rule.startswith("/federation/v1/")}
    assert public - federation_api == {"static", "auth.login", "auth.setup", "auth.register",
                                       "api_docs.openapi", "api_docs.docs",
                                       "wellknown.document"}


def test_admin_endpoints_are_marked(app) -> None:
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            assert getattr(app.view_functions[rule.endpoint], "_salon_admin", False), rule


def test_every_url_variable_has_a_converter(app) -> None:
    for rule in app.url_map.iter_rules():
        for converter, name in ((type(c).__name__, n) for n, c in rule._converters.items()):
            if name == "filename":
                continue
            assert converter != "UnicodeConverter", (rule.rule, name)


def test_every_setting_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.env}`" in readme, setting.env


def test_every_salon_variable_in_the_code_is_a_setting() -> None:
    known = {setting.env for setting in SETTINGS}
    used: set[str] = set()
    for path in [*REPO.glob("app/**/*.py"), *REPO.glob("ml/**/*.py"), REPO / "Makefile",
                 REPO / "docker-compose.yml"]:
        used |= set(re.findall(r"\bSALON_[A-Z_]+\b", path.read_text()))
    assert used <= known, used - known


def test_migrations_rebuild_the_same_schema(app, tmp_path) -> None:
    fresh = Database(tmp_path / "fresh.db")
    fresh.migrate()
    assert fresh.schema() == app.extensions["salon.db"].schema()
    assert fresh.migrate() == []  # idempotent


@pytest.mark.parametrize("folder", ["app", "ml"])
def test_only_db_module_imports_apsw(folder: str) -> None:
    for path in (REPO / folder).rglob("*.py"):
        if path.name == "db.py" and path.parent.name == "app":
            continue
        assert "import apsw" not in path.read_text(), path


def test_ml_and_media_never_import_flask() -> None:
    for path in [*(REPO / "ml").rglob("*.py"), *(REPO / "app" / "media").rglob("*.py")]:
        assert not re.search(r"^\s*(from|import) flask", path.read_text(), re.M), path
