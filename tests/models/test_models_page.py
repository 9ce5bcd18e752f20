"""The admin "Models" page: the table, install commands, the "Use" button, the settings
form (validation with the field named and the input kept), and admins only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask

from app.jobs.queue import Queue
from app.queries.settings import get_setting
from app.web.models import bp
from ml import install
from tests.conftest import Browser
from tests.models import tagger_repo

VALID = {"tagger.general_threshold": "0.4", "tagger.character_threshold": "0.9",
         "tagger.max_tags": "40", "captioner.beams": "4", "captioner.max_length": "25",
         "captioner.prompt": "a picture of"}


@pytest.fixture
def app(app: Flask) -> Flask:
    """app/web/__init__.py registers the blueprint itself; register it here until it does."""
    if "models" not in app.blueprints:
        app.register_blueprint(bp)
    return app




def row(page: Any, name: str) -> Any:
    found = page.select_one(f'tr[data-model="{name}"]')
    assert found is not None, name
    return found


def test_the_page_lists_models_and_how_to_install_the_missing_ones(admin: Browser,
                                                                   db: Any) -> None:
    queue = Queue(db)
    job_id = queue.enqueue("analyze", {"image_id": 1})
    assert queue.claim("w") is not None
    queue.block(job_id, "w", "no tagger", "model:wd-swinv2-tagger-v3")

    page = admin.page("/admin/models")

    swinv2 = row(page, "wd-swinv2-tagger-v3")
    assert swinv2["data-installed"] == "no"
    assert swinv2.select_one(".install-command").text == "salon models pull wd-swinv2-tagger-v3"
    assert swinv2.select_one(".import-command").text == \
        "salon models import wd-swinv2-tagger-v3 PATH"
    cells = [cell.get_text(" ", strip=True) for cell in swinv2.find_all("td")]
    assert cells[3] == "apache-2.0" and cells[4] == "yes" and cells[5] == "1"
    nsfw = row(page, "open-nsfw")
    assert nsfw["data-installed"] == "yes" and "bundled" in nsfw.get_text()
    assert row(page, "nudenet").select_one(".install-command").text == "pip install nudenet"
    assert [h.text for h in page.select("h2")][:3] == ["Tagger", "Captioner", "NSFW classifier"]


def test_use_switches_the_model_with_post_redirect_get(app: Flask, admin: Browser,
                                                       db: Any, tmp_path: Path) -> None:
    install.import_model(Path(app.config["MODELS"]), "my-tagger",
                          tagger_repo(tmp_path / "repo"), custom_task="tagger")
    use_button = row(admin.page("/admin/models"), "my-tagger").select_one("form")
    assert use_button is not None and use_button["action"] == "/admin/models/use"

    response = admin.post("/admin/models/use", {"name": "my-tagger"})

    assert response.status_code == 302 and response.headers["Location"] == "/admin/models"
    assert get_setting(db, "model.tagger") == "my-tagger"
    page = admin.page("/admin/models")
    assert "The tagger now uses my-tagger." in page.get_text()
    assert row(page, "my-tagger").select_one("form") is None  # in use: no button


def test_use_of_a_missing_model_is_explained(admin: Browser, db: Any) -> None:
    response = admin.post("/admin/models/use", {"name": "blip-large"})

    assert response.status_code == 302
    assert "salon models pull blip-large" in admin.page("/admin/models").get_text()
    assert get_setting(db, "model.captioner") == "blip-base"


def test_settings_are_saved(admin: Browser, db: Any) -> None:
    response = admin.post("/admin/models/settings", {**VALID, "tagger.mcut": "1"})

    assert response.status_code == 302
    assert get_setting(db, "tagger.general_threshold") == 0.4
    assert get_setting(db, "tagger.mcut") is True
    assert get_setting(db, "tagger.max_tags") == 40
    assert get_setting(db, "captioner.prompt") == "a picture of"
    page = admin.page("/admin/models")
    assert page.select_one('input[name="captioner.beams"]')["value"] == "4"
    assert page.select_one('input[name="tagger.mcut"]').has_attr("checked")


@pytest.mark.parametrize("field, value, message", [
    ("tagger.general_threshold", "2", "General tag threshold must be a number from 0.01 to 0.99"),
    ("tagger.character_threshold", "nan", "Character tag threshold must be a number"),
    ("tagger.max_tags", "4.5", "Most tags per picture must be a whole number from 1 to 500"),
    ("captioner.beams", "", "Beams must be a whole number from 1 to 10"),
    ("captioner.prompt", "x" * 201, "at most 200 characters"),
])
def test_a_bad_setting_comes_back_with_the_field_named_and_the_input_kept(
        admin: Browser, db: Any, field: str, value: str, message: str) -> None:
    response = admin.post("/admin/models/settings", {**VALID, field: value})

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    form = BeautifulSoup(html, "html.parser").select_one("#model-settings")
    assert form.select_one(f'input[name="{field}"]')["aria-invalid"] == "true"
    assert form.select_one(f'input[name="{field}"]')["value"] == value
    assert form.select_one('input[name="captioner.max_length"]')["value"] == "25"
    assert get_setting(db, "tagger.general_threshold") == 0.35  # nothing saved


def test_only_admins_see_or_change_models(alice: Browser, db: Any) -> None:
    assert alice.client.get("/admin/models").status_code == 403
    assert alice.post("/admin/models/use", {"name": "open-nsfw"}).status_code == 403
    assert alice.post("/admin/models/settings", VALID).status_code == 403
    assert get_setting(db, "captioner.beams") == 3
