"""The image proxy: a followed peer's media, fetched signed, proven to be an image, cached.

Media of a remote picture is fetched only from the peer that owns the row,
at ``{peer base URL}/federation/v1/media/{remote id}/{variant}`` (never from
a URL found in a request or in the peer's data), through the guarded client
with a size cap (thumbnails small). The bytes must be an image by their magic
number and must decode within the pixel limit; they are then kept on disk
under ``<uploads>/cache/proxy/<peer id>/`` with a ``proxy_cache`` row, and the
cache is trimmed to ``SALON_PROXY_CACHE_MB``, least recently used first. A
tombstone in the feed drops that picture's files (``forget_picture``).
Nothing reaches the cache when any check fails.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from app.db import Database, Row
from app.errors import AppError
from app.federation.client import OutboundError, client_from_config
from app.federation.identity import load_identity
from app.federation.signatures import sign_request
from app.media.probe import open_pillow, probe_image
from app.media.sniff import SNIFF_BYTES, MediaType, describe_unsupported, sniff
from app.queries.visibility import Viewer, viewable

log = logging.getLogger(__name__)

VARIANTS = ("thumb", "preview", "original")
REMOTE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOUCH_EVERY = 60.0  # seconds: a hit rewrites used_at at most this often
EVICT_BATCH = 200


class ProxyError(AppError):
    """The proxy could not serve: 404 (no such followed picture) or 502 (the peer failed)."""

    def __init__(self, status: int, reason: str) -> None:
        message = "No such remote picture." if status == 404 else \
            "The picture could not be fetched from its peer."
        super().__init__(message, status, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class CachedMedia:
    path: Path
    mime: str
    size: int


def cache_root(config: Mapping[str, Any]) -> Path:
    return Path(config["UPLOADS"]) / "cache" / "proxy"


def size_cap(config: Mapping[str, Any], variant: str) -> int:
    if variant == "thumb":
        return int(config["PROXY_THUMB_MAX_KB"]) * 1024
    return int(config["PROXY_MAX_MB"]) * 2**20


# -- queries ----------------------------------------------------------------------------


def visible_remote_image(db: Database, peer_id: int, remote_id: str,
                         viewer: Viewer) -> Row | None:
    """The remote picture row, if this viewer may open it."""
    condition, params = viewable(viewer, "i")
    return db.one(f"SELECT i.id FROM images i WHERE i.peer_id = ? AND i.remote_id = ?"
                  f" AND {condition}", [peer_id, remote_id, *params])


def proxy_peer(db: Database, peer_id: int) -> Row | None:
    return db.one("SELECT id, base_url, name, following, blocked FROM peers WHERE id = ?",
                  (peer_id,))


def _cache_row(db: Database, peer_id: int, remote_id: str, variant: str) -> Row | None:
    return db.one("SELECT path, mime, size_bytes, used_at FROM proxy_cache"
                  " WHERE peer_id = ? AND remote_id = ? AND variant = ?",
                  (peer_id, remote_id, variant))


def _forget(db: Database, peer_id: int, remote_id: str, variant: str) -> None:
    db.execute("DELETE FROM proxy_cache WHERE peer_id = ? AND remote_id = ? AND variant = ?",
               (peer_id, remote_id, variant))


# -- fetching ---------------------------------------------------------------------------


def fetch_cached(db: Database, config: Mapping[str, Any], peer_row: Mapping[str, Any],
                 remote_id: str, variant: str) -> CachedMedia:
    """The media from the cache, or fetched from the peer and cached; ``ProxyError``."""
    _check_request(peer_row, remote_id, variant)
    hit = cached(db, config, int(peer_row["id"]), remote_id, variant)
    if hit is not None:
        return hit
    return _fetch(db, config, peer_row, remote_id, variant)


def _check_request(peer_row: Mapping[str, Any], remote_id: str, variant: str) -> None:
    if variant not in VARIANTS or not REMOTE_ID.fullmatch(remote_id):
        raise ProxyError(404, "no such picture or variant")
    if peer_row["following"] != "approved" or peer_row["blocked"]:
        raise ProxyError(404, "this instance does not follow that peer")


def cached(db: Database, config: Mapping[str, Any], peer_id: int, remote_id: str,
           variant: str) -> CachedMedia | None:
    """A cache hit (its use recorded, cheaply), or None."""
    row = _cache_row(db, peer_id, remote_id, variant)
    if row is None:
        return None
    path = cache_root(config) / row["path"]
    if not path.is_file():
        _forget(db, peer_id, remote_id, variant)
        return None
    now = time.time()
    if row["used_at"] < now - TOUCH_EVERY:
        db.execute("UPDATE proxy_cache SET used_at = ? WHERE peer_id = ? AND remote_id = ?"
                   " AND variant = ?", (now, peer_id, remote_id, variant))
    return CachedMedia(path, row["mime"], row["size_bytes"])


def _fetch(db: Database, config: Mapping[str, Any], peer_row: Mapping[str, Any],
           remote_id: str, variant: str) -> CachedMedia:
    peer_id = int(peer_row["id"])
    url = f"{str(peer_row['base_url']).rstrip('/')}/federation/v1/media/{remote_id}/{variant}"
    temp = _temp_file(cache_root(config))
    try:
        _download(config, url, temp, size_cap(config, variant))
        media = check_image(temp, int(config["MAX_PIXELS"]))
        relative = f"{peer_id}/{remote_id}.{variant}"
        final = cache_root(config) / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        size = temp.stat().st_size
        os.replace(temp, final)
    except ProxyError as error:
        log.warning("proxy: %s from peer %s refused: %s", url, peer_id, error.reason)
        raise
    finally:
        temp.unlink(missing_ok=True)
    if not _record(db, peer_id, remote_id, variant, relative, media.mime, size):
        final.unlink(missing_ok=True)
        raise ProxyError(404, "this instance stopped following that peer")
    log.info("proxy: cached %s (%s, %d bytes)", url, media.mime, size)
    evict(db, config)
    return CachedMedia(final, media.mime, size)


def _temp_file(root: Path) -> Path:
    folder = root / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="fetch-", dir=folder)
    os.close(handle)
    return Path(name)


def _download(config: Mapping[str, Any], url: str, dest: Path, cap: int) -> None:
    signer = partial(sign_request, load_identity(config))
    try:
        response = client_from_config(config).request("GET", url, signer=signer,
                                                      max_bytes=cap, dest=dest)
    except OutboundError as error:
        raise ProxyError(502, error.reason) from None
    if response.status in (404, 410):
        raise ProxyError(404, f"the peer does not have this picture ({response.status})")
    if response.status != 200:
        raise ProxyError(502, f"the peer answered {response.status}")


def check_image(path: Path, max_pixels: int) -> MediaType:
    """The image type the file's magic number shows; it must also decode fully."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    media = sniff(head)
    if media is None or media.kind != "image":
        found = media.label if media is not None else describe_unsupported(head)
        raise ProxyError(502, f"not an image: {found}")
    try:
        probe_image(path, media.mime, max_pixels=max_pixels)
        with open_pillow(path, media.mime, max_pixels=max_pixels) as image:
            image.load()
    except AppError as error:
        raise ProxyError(502, f"not a valid {media.label}: {error.message}") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ProxyError(502, f"not a valid {media.label}: {error}") from None
    return media


def _record(db: Database, peer_id: int, remote_id: str, variant: str, path: str, mime: str,
            size: int) -> bool:
    """Store the cache row unless the peer was unfollowed meanwhile; False then."""
    with db.transaction():
        db.execute(
            "INSERT INTO proxy_cache (peer_id, remote_id, variant, path, mime, size_bytes,"
            " used_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM peers"
            " WHERE id = ? AND following = 'approved' AND blocked = 0)"
            " ON CONFLICT (peer_id, remote_id, variant) DO UPDATE SET path = excluded.path,"
            " mime = excluded.mime, size_bytes = excluded.size_bytes,"
            " used_at = excluded.used_at",
            (peer_id, remote_id, variant, path, mime, size, time.time(), peer_id))
        return db.changes() > 0


# -- keeping the cache small ------------------------------------------------------------


def cache_size(db: Database) -> int:
    return int(db.value("SELECT COALESCE(SUM(size_bytes), 0) FROM proxy_cache"))


def evict(db: Database, config: Mapping[str, Any]) -> int:
    """Remove least recently used entries until the cache fits its cap; returns how many."""
    cap = int(config["PROXY_CACHE_MB"]) * 2**20
    removed: list[str] = []
    with db.transaction():
        excess = cache_size(db) - cap
        while excess > 0:
            rows = db.all("SELECT peer_id, remote_id, variant, path, size_bytes FROM proxy_cache"
                          " ORDER BY used_at LIMIT ?", (EVICT_BATCH,))
            if not rows:
                break
            excess = _drop_oldest(db, rows, excess, removed)
    remove_files(config, removed)
    if removed:
        log.info("proxy: evicted %d cached files", len(removed))
    return len(removed)


def _drop_oldest(db: Database, rows: list[Row], excess: int, removed: list[str]) -> int:
    for row in rows:
        if excess <= 0:
            break
        _forget(db, row["peer_id"], row["remote_id"], row["variant"])
        removed.append(row["path"])
        excess -= row["size_bytes"]
    return excess


def forget_picture(db: Database, peer_id: int, remote_id: str) -> list[str]:
    """Forget every cached variant of one remote picture (its origin deleted or stopped
    sharing it); returns the files to remove once the caller's transaction commits."""
    rows = db.all("SELECT path FROM proxy_cache WHERE peer_id = ? AND remote_id = ?",
                  (int(peer_id), remote_id))
    db.execute("DELETE FROM proxy_cache WHERE peer_id = ? AND remote_id = ?",
               (int(peer_id), remote_id))
    return [row["path"] for row in rows]


def remove_files(config: Mapping[str, Any], paths: list[str]) -> None:
    root = cache_root(config)
    for path in paths:
        (root / path).unlink(missing_ok=True)


def drop_peer_cache(db: Database, config: Mapping[str, Any], peer_id: int) -> None:
    """Forget everything cached from one peer (unfollow, block)."""
    db.execute("DELETE FROM proxy_cache WHERE peer_id = ?", (int(peer_id),))
    shutil.rmtree(cache_root(config) / str(int(peer_id)), ignore_errors=True)
