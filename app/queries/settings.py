"""Runtime settings an admin changes without a restart (the ``settings`` table)."""

from __future__ import annotations

import json
from typing import Any

from app.db import Database

DEFAULTS: dict[str, Any] = {
    "public_gallery": False,
    "open_registration": False,
    "default_visibility": "private",
    # The model each analysis task runs with (names from ml/registry.py).
    "model.tagger": "wd-swinv2-tagger-v3",
    "model.captioner": "blip-base",
    "model.nsfw": "open-nsfw",
    # Tagger and captioner settings.
    "tagger.general_threshold": 0.35,
    "tagger.character_threshold": 0.85,
    "tagger.mcut": False,
    "tagger.max_tags": 60,
    "captioner.beams": 3,
    "captioner.max_length": 30,
    "captioner.prompt": "",
    "nsfw.nudenet": False,
    # Image tools an admin turned off (ids): refused by the API, pages, CLI and pipelines.
    "disabled_tools": [],
    # Federation: approve every follow request without asking the admin.
    "federation.auto_approve": False,
}


def get_setting(db: Database, key: str) -> Any:
    raw = db.value("SELECT value FROM settings WHERE key = ?", (key,))
    return DEFAULTS[key] if raw is None else json.loads(raw)


def all_settings(db: Database) -> dict[str, Any]:
    stored = {row["key"]: json.loads(row["value"]) for row in db.all("SELECT * FROM settings")}
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def set_setting(db: Database, key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise KeyError(key)
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value)),
    )
