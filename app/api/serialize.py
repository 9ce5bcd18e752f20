"""JSON shapes of API objects (DESIGN §9). One function per object."""

from __future__ import annotations

import json
from typing import Any

from flask import url_for

from app.db import Row

GPS_KEYS = ("gps_latitude", "gps_longitude", "gps_altitude")


def image_card(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"], "sha256": row["sha256"], "kind": row["kind"], "mime": row["mime"],
        "file_name": row["file_name"], "title": row["title"], "width": row["width"],
        "height": row["height"], "visibility": row["visibility"], "rating": row.get("rating"),
        "created_at": row["created_at"], "urls": urls(row["id"]),
        **_origin(row),
    }


def _origin(row: Row) -> dict[str, Any]:
    """A remote picture names its peer and its page there; its media go through the proxy."""
    if not row.get("peer_id"):
        return {}
    proxied = {variant: url_for("proxy.media", peer_id=row["peer_id"],
                                remote_id=row["remote_id"], variant=variant)
               for variant in ("thumb", "preview", "original")}
    return {"origin": {"peer": row.get("peer_name"), "url": row.get("origin_url")},
            "urls": {**urls(row["id"]), **proxied, "download": proxied["original"]}}


def tag_json(row: Row) -> dict[str, Any]:
    return {"name": row["name"], "category": row["category"],
            "confidence": row["confidence"], "source": row["source"]}


def image_detail(row: Row, metadata: Row | None, is_owner: bool,
                 analysis: dict[str, Any] | None = None,
                 tags: list[Row] | None = None) -> dict[str, Any]:
    meta = dict(metadata or {})
    generation = json.loads(meta.get("generation_json") or "{}")
    exif = json.loads(meta.get("exif_json") or "{}")
    gps = None
    if is_owner and meta.get("gps_latitude") is not None:
        gps = {key.removeprefix("gps_"): meta[key] for key in GPS_KEYS}
    return {
        **image_card(row),
        "owner": row.get("owner_name"), "description": row["description"],
        "size_bytes": row["size_bytes"], "frames": row["frames"], "duration": row["duration"],
        "codec": row["codec"], "taken_at": row["taken_at"], "updated_at": row["updated_at"],
        "rating": row.get("rating"), "nsfw_score": row.get("nsfw_score"),
        "caption": row.get("caption"), "tags": [tag_json(tag) for tag in tags or []],
        "metadata": {"generation": generation, "exif": exif, "gps": gps},
        "analysis": analysis or {"state": "none", "steps": []},
    }


def urls(image_id: int) -> dict[str, str]:
    return {
        "page": url_for("gallery.show", image_id=image_id),
        "thumb": url_for("media.file", image_id=image_id, variant="thumb"),
        "preview": url_for("media.file", image_id=image_id, variant="preview"),
        "original": url_for("media.file", image_id=image_id, variant="original"),
        "download": url_for("media.download", image_id=image_id),
    }
