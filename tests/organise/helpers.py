"""Small helpers shared by the organise tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Browser


def api(browser: Browser, method: str, url: str, body: Any = None) -> Any:
    """A JSON API call with the CSRF header, as the web page's scripts send it."""
    return browser.client.open(url, method=method, json=body,
                               headers={"X-CSRFToken": browser.csrf()})


def tag_names(db: Any, image_id: int) -> list[str]:
    return sorted(row["name"] for row in db.all(
        "SELECT t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id"
        " WHERE it.image_id = ?", (image_id,)))


def count_of(db: Any, name: str) -> int | None:
    return db.value("SELECT count FROM tags WHERE name = ?", (name,))
