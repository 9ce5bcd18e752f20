"""Runtime settings an admin changes without a restart (the ``settings`` table)."""

from __future__ import annotations

import json
from typing import Any

from app.db import Database

DEFAULTS: dict[str, Any] = {
    "public_gallery": False,
    "open_registration": False,
    "default_visibility": "private",
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
