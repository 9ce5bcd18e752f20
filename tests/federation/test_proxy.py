"""The image proxy: only from the registered, followed peer, signed, images only, capped,
hardened headers, an LRU disk cache. The origin is a fake peer on loopback that checks
our signatures with Salon's own verifier."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.federation.identity import load_identity
from app.federation.proxy import (
    ProxyError,
    cache_root,
    cache_size,
    drop_peer_cache,
    evict,
    fetch_cached,
    proxy_peer,
)
from app.federation.signatures import SignatureError, verify_request
from app.federation.sync import sync_peer
from app.queries.settings import set_setting
from tests.conftest import Browser, png_bytes
from tests.federation.hostile import Handler, HostileServer, huge, redirect, send

MEDIA = "/federation/v1/media/"


class Origin:
    """A peer serving media only to requests signed by our instance."""

    def __init__(self, server: HostileServer, app: Any) -> None:
        self.server = server
        self.identity = load_identity(app.config)
        self.media: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.verified: list[str] = []
        self.seen: set[str] = set()
        server.route(MEDIA, self.serve)

    def _seen(self, digest: str, created: float) -> bool:
        found = digest in self.seen
        self.seen.add(digest)
        return found

    def serve(self, handler: Handler) -> None:
        keys = {self.identity.key_id: self.identity.private_key.public_key()}
        try:
            verified = verify_request(handler.command, self.server.url(handler.path),
                                      handler.recorded.headers, None, resolve_key=keys.get,
                                      seen=self._seen)
        except SignatureError as error:
            send(handler, 401, error.reason.encode(), "text/plain")
            return
        self.verified.append(verified.key_id)
        remote_id, variant = handler.path[len(MEDIA):].split("/")
        if (remote_id, variant) not in self.media:
            send(handler, 404, b"{}", "application/json")
            return
        body, content_type = self.media[remote_id, variant]
        send(handler, 200, body, content_type)

    def requests(self) -> list[str]:
        return [seen.path for seen in self.server.requests]


@pytest.fixture
def origin(app: Any) -> Iterator[Origin]:
    app.config["FEDERATION_ALLOW_PRIVATE"] = True
    with HostileServer() as server:
        yield Origin(server, app)


def add_peer(db: Any, base_url: str, following: str = "approved", blocked: int = 0) -> int:
    shadow = db.execute("INSERT INTO users (username, password_hash, disabled)"
                        " VALUES (?, '!', 1)", (f"peer-{os.urandom(4).hex()}",))
    return db.execute("INSERT INTO peers (base_url, name, following, blocked, user_id)"
                      " VALUES (?, 'origin', ?, ?, ?)", (base_url, following, blocked, shadow))


def add_remote_picture(db: Any, peer_id: int, remote_id: str,
                       visibility: str = "public") -> int:
    owner = db.value("SELECT user_id FROM peers WHERE id = ?", (peer_id,))
    return db.execute(
        "INSERT INTO images (owner_id, sha256, kind, mime, ext, file_name, size_bytes, width,"
        " height, visibility, peer_id, remote_id) VALUES (?, ?, 'image', 'image/png', 'png',"
        " 'remote.png', 1000, 64, 64, ?, ?, ?)",
        (owner, os.urandom(32).hex(), visibility, peer_id, remote_id))


@pytest.fixture
def peer(db: Any, origin: Origin) -> int:
    peer_id = add_peer(db, origin.server.base_url)
    add_remote_picture(db, peer_id, "r1")
    return peer_id


def noise_png(size: int) -> bytes:
    """A PNG of about ``size`` bytes (random pixels do not compress)."""
    side = int(size ** 0.5)
    buffer = io.BytesIO()
    Image.frombytes("L", (side, side), os.urandom(side * side)).save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, "WEBP")
    return buffer.getvalue()


def cached_files(app: Any) -> list[Path]:
    root = cache_root(app.config)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


# -- serving ----------------------------------------------------------------------------


def test_proxy_serves_a_followed_peers_image_with_salons_own_headers(
        app: Any, db: Any, alice: Browser, origin: Origin, peer: int) -> None:
    thumb = webp_bytes()
    origin.media["r1", "thumb"] = (thumb, "text/html")  # the peer's claim is ignored
    response = alice.client.get(f"/proxy/{peer}/r1/thumb")
    assert response.status_code == 200
    assert response.data == thumb
    assert response.headers["Content-Type"] == "image/webp"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Cache-Control"].startswith("private")
    # Fetched once, signed by this instance, at the peer's media URL.
    assert origin.requests() == [f"{MEDIA}r1/thumb"]
    assert origin.verified == [load_identity(app.config).key_id]
    row = db.one("SELECT mime, size_bytes FROM proxy_cache WHERE peer_id = ?", (peer,))
    assert row == {"mime": "image/webp", "size_bytes": len(thumb)}


def test_a_cache_hit_does_not_contact_the_peer(alice: Browser, origin: Origin,
                                               peer: int) -> None:
    origin.media["r1", "preview"] = (png_bytes(), "image/png")
    assert alice.client.get(f"/proxy/{peer}/r1/preview").status_code == 200
    origin.server.stop()  # the peer is gone: the cache still answers
    second = alice.client.get(f"/proxy/{peer}/r1/preview")
    assert second.status_code == 200 and second.data == png_bytes()
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert len(origin.requests()) == 1


def test_anonymous_visitors_need_a_public_gallery(app: Any, db: Any, make_user: Any,
                                                  origin: Origin, peer: int) -> None:
    make_user("someone")
    origin.media["r1", "thumb"] = (webp_bytes(), "image/webp")
    anonymous = app.test_client()
    assert anonymous.get(f"/proxy/{peer}/r1/thumb").status_code == 302
    assert origin.requests() == []
    set_setting(db, "public_gallery", True)
    assert anonymous.get(f"/proxy/{peer}/r1/thumb").status_code == 200


def test_only_visible_remote_pictures_of_followed_peers(app: Any, db: Any, alice: Browser,
                                                        origin: Origin, peer: int) -> None:
    origin.media["r1", "thumb"] = (webp_bytes(), "image/webp")
    add_remote_picture(db, peer, "hidden", visibility="private")
    origin.media["hidden", "thumb"] = (webp_bytes(), "image/webp")
    other = add_peer(db, "http://127.0.0.1:9/", following="requested")
    add_remote_picture(db, other, "r1")
    blocked = add_peer(db, origin.server.url("/b"), blocked=1)
    add_remote_picture(db, blocked, "r1")
    for url in (f"/proxy/{peer}/nope/thumb", f"/proxy/{peer}/hidden/thumb",
                f"/proxy/{other}/r1/thumb", f"/proxy/{blocked}/r1/thumb",
                f"/proxy/{peer + 100}/r1/thumb"):
        response = alice.client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 404, url
    assert alice.client.get(f"/proxy/{peer}/r1/thumb?url=http://127.0.0.1:1/x").status_code \
        == 200  # a URL in the request is never used
    assert origin.requests() == [f"{MEDIA}r1/thumb"]
    assert alice.client.get(f"/proxy/{peer}/r1/other").status_code == 404
    assert alice.client.get(f"/proxy/{peer}/..%2F..%2Fetc/thumb").status_code == 404


# -- refusals: nothing is cached --------------------------------------------------------


def _refused(alice: Browser, url: str) -> dict[str, Any]:
    response = alice.client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 502, response.get_json()
    return response.get_json()


def test_html_served_as_an_image_is_refused(app: Any, db: Any, alice: Browser,
                                            origin: Origin, peer: int) -> None:
    origin.media["r1", "thumb"] = (b"<!doctype html><script>alert(1)</script>", "image/png")
    answer = _refused(alice, f"/proxy/{peer}/r1/thumb")
    assert answer["reason"].startswith("not an image: HTML files are not accepted")
    assert db.value("SELECT count(*) FROM proxy_cache") == 0
    assert cached_files(app) == []


def test_a_truncated_image_is_refused(app: Any, db: Any, alice: Browser, origin: Origin,
                                      peer: int) -> None:
    origin.media["r1", "preview"] = (noise_png(40_000)[:5000], "image/png")
    answer = _refused(alice, f"/proxy/{peer}/r1/preview")
    assert answer["reason"].startswith("not a valid PNG")
    assert db.value("SELECT count(*) FROM proxy_cache") == 0
    assert cached_files(app) == []


def test_a_video_or_other_format_is_refused(alice: Browser, origin: Origin,
                                            peer: int) -> None:
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    origin.media["r1", "original"] = (mp4, "image/png")
    assert _refused(alice, f"/proxy/{peer}/r1/original")["reason"] == "not an image: MP4"


def test_thumbnails_larger_than_their_cap_are_refused(app: Any, db: Any, alice: Browser,
                                                      origin: Origin, peer: int) -> None:
    app.config["PROXY_THUMB_MAX_KB"] = 16
    origin.media["r1", "thumb"] = (noise_png(40_000), "image/png")
    origin.media["r1", "preview"] = origin.media["r1", "thumb"]
    assert _refused(alice, f"/proxy/{peer}/r1/thumb")["reason"] == \
        "response larger than 16384 bytes"
    assert alice.client.get(f"/proxy/{peer}/r1/preview").status_code == 200  # bigger cap
    assert db.value("SELECT group_concat(variant) FROM proxy_cache") == "preview"


def test_a_huge_body_is_cut_and_leaves_no_temp_file(app: Any, alice: Browser,
                                                    origin: Origin, peer: int) -> None:
    origin.server.route(f"{MEDIA}r1/original", huge(2**30, announce_length=False))
    app.config["PROXY_MAX_MB"] = 1
    assert _refused(alice, f"/proxy/{peer}/r1/original")["reason"] == \
        "response larger than 1048576 bytes"
    assert cached_files(app) == []
    assert origin.server.sent[f"{MEDIA}r1/original"] < 64 * 2**20


def test_a_peer_redirecting_to_the_metadata_service_is_refused(
        alice: Browser, origin: Origin, peer: int) -> None:
    origin.server.route(f"{MEDIA}r1/thumb", redirect("http://169.254.169.254/latest/"))
    assert _refused(alice, f"/proxy/{peer}/r1/thumb")["reason"] == \
        "blocked address 169.254.169.254"


def test_peer_errors_are_reported(alice: Browser, origin: Origin, peer: int) -> None:
    response = alice.client.get(f"/proxy/{peer}/r1/thumb",
                                headers={"Accept": "application/json"})
    assert response.status_code == 404  # the peer does not have it
    origin.server.route(f"{MEDIA}r1/preview",
                        lambda handler: send(handler, 500, b"oops", "text/plain"))
    assert _refused(alice, f"/proxy/{peer}/r1/preview")["reason"] == "the peer answered 500"


def test_private_addresses_need_the_setting(app: Any, alice: Browser, origin: Origin,
                                            peer: int) -> None:
    app.config["FEDERATION_ALLOW_PRIVATE"] = False
    origin.media["r1", "thumb"] = (webp_bytes(), "image/webp")
    assert _refused(alice, f"/proxy/{peer}/r1/thumb")["reason"] == "blocked address 127.0.0.1"
    assert origin.requests() == []


# -- the cache --------------------------------------------------------------------------


def test_lru_eviction_keeps_the_cache_under_its_cap(app: Any, db: Any, origin: Origin,
                                                    peer: int) -> None:
    app.config["PROXY_CACHE_MB"] = 1
    for name in ("a", "b", "c"):
        add_remote_picture(db, peer, name)
        origin.media[name, "original"] = (noise_png(400_000), "image/png")
    row = proxy_peer(db, peer)
    first = fetch_cached(db, app.config, row, "a", "original")
    second = fetch_cached(db, app.config, row, "b", "original")
    db.execute("UPDATE proxy_cache SET used_at = ? WHERE remote_id = 'a'", (time.time() - 900,))
    db.execute("UPDATE proxy_cache SET used_at = ? WHERE remote_id = 'b'", (time.time() - 600,))
    again = fetch_cached(db, app.config, row, "a", "original")  # a hit: a is now recent
    assert again.path == first.path and len(origin.requests()) == 2
    third = fetch_cached(db, app.config, row, "c", "original")
    remaining = [r["remote_id"] for r in db.all("SELECT remote_id FROM proxy_cache"
                                                " ORDER BY remote_id")]
    assert remaining == ["a", "c"]
    assert not second.path.exists() and first.path.exists() and third.path.exists()
    assert cache_size(db) <= 2**20
    assert sorted(cached_files(app)) == sorted([first.path, third.path])


def test_a_hit_touches_the_row_at_most_once_a_minute(app: Any, db: Any, origin: Origin,
                                                     peer: int) -> None:
    origin.media["r1", "thumb"] = (webp_bytes(), "image/webp")
    row = proxy_peer(db, peer)
    fetch_cached(db, app.config, row, "r1", "thumb")
    recent = time.time() - 30
    db.execute("UPDATE proxy_cache SET used_at = ?", (recent,))
    fetch_cached(db, app.config, row, "r1", "thumb")
    assert db.value("SELECT used_at FROM proxy_cache") == recent
    db.execute("UPDATE proxy_cache SET used_at = ?", (recent - 60,))
    fetch_cached(db, app.config, row, "r1", "thumb")
    assert db.value("SELECT used_at FROM proxy_cache") > recent
    assert len(origin.requests()) == 1


def test_a_missing_cache_file_is_fetched_again(app: Any, db: Any, origin: Origin,
                                               peer: int) -> None:
    origin.media["r1", "thumb"] = (webp_bytes(), "image/webp")
    row = proxy_peer(db, peer)
    fetch_cached(db, app.config, row, "r1", "thumb").path.unlink()
    assert fetch_cached(db, app.config, row, "r1", "thumb").path.exists()
    assert len(origin.requests()) == 2


def test_evict_with_nothing_to_do_and_drop_peer_cache(app: Any, db: Any, origin: Origin,
                                                      peer: int) -> None:
    origin.media["r1", "thumb"] = (webp_bytes(), "image/webp")
    origin.media["r1", "preview"] = (png_bytes(), "image/png")
    row = proxy_peer(db, peer)
    fetch_cached(db, app.config, row, "r1", "thumb")
    fetch_cached(db, app.config, row, "r1", "preview")
    assert evict(db, app.config) == 0
    drop_peer_cache(db, app.config, peer)
    assert db.value("SELECT count(*) FROM proxy_cache") == 0
    assert cached_files(app) == []


def test_fetch_cached_refuses_unfollowed_peers_and_bad_ids(app: Any, db: Any,
                                                           origin: Origin, peer: int) -> None:
    row = dict(proxy_peer(db, peer) or {})
    with pytest.raises(ProxyError) as caught:
        fetch_cached(db, app.config, {**row, "following": "denied"}, "r1", "thumb")
    assert caught.value.status == 404
    for remote_id, variant in (("../x", "thumb"), ("r1", "huge"), ("a" * 65, "thumb")):
        with pytest.raises(ProxyError):
            fetch_cached(db, app.config, row, remote_id, variant)
    assert origin.requests() == []


def test_a_tombstone_drops_the_pictures_cached_files(app: Any, db: Any, origin: Origin,
                                                     peer: int) -> None:
    add_remote_picture(db, peer, "r2")
    origin.media["r1", "thumb"] = (webp_bytes(), "image/webp")
    origin.media["r1", "preview"] = (png_bytes(), "image/png")
    origin.media["r2", "thumb"] = (webp_bytes(), "image/webp")
    row = proxy_peer(db, peer)
    kept = fetch_cached(db, app.config, row, "r2", "thumb").path
    for variant in ("thumb", "preview"):
        fetch_cached(db, app.config, row, "r1", variant)
    page = {"changes": [{"seq": 1, "op": "delete", "id": "r1"}], "next_after": 1,
            "more": False}

    result = sync_peer(db, app.config, peer, fetch=lambda *_: page)

    assert result.deletes == 1
    assert [dict(r) for r in db.all("SELECT remote_id, variant FROM proxy_cache")] == [
        {"remote_id": "r2", "variant": "thumb"}]
    assert cached_files(app) == [kept]
