"""Signed requests to peers and their instance documents, through the one guarded client."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from app.federation.remote import FeedError

log = logging.getLogger(__name__)

DOCUMENT_PATH = "/.well-known/salon"
DOCUMENT_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or None when the body was not JSON


@dataclass(frozen=True)
class Document:
    base_url: str
    name: str
    keys: list[dict[str, Any]]


def normalise_url(raw: str) -> str:
    """A peer's base URL: http(s), a host, no credentials, query or fragment; no trailing /."""
    text = (raw or "").strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError("A peer's address starts with http:// or https:// and names a host.",
                        status=400)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise FeedError("A peer's address has no user name, password, query or fragment.",
                        status=400)
    return text


def signed(config: Mapping[str, Any], method: str, url: str, *, body: Any = None,
           max_bytes: int | None = None) -> Answer:
    """Send a signed request to a peer; ``FeedError`` (502) when it cannot be sent."""
    from app.federation.client import OutboundError, client_from_config
    from app.federation.identity import load_identity
    from app.federation.signatures import sign_request

    signer = partial(sign_request, load_identity(config))
    try:
        response = client_from_config(config).request(method, url, json=body, signer=signer,
                                                      max_bytes=max_bytes)
    except OutboundError as error:
        raise FeedError(f"{method} {url}: {error.reason}") from None
    return Answer(response.status, _json(response.content))


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def fetch_document(config: Mapping[str, Any], base_url: str) -> Document:
    """The peer's instance document, checked: Salon, API 1, its own address, Ed25519 keys."""
    answer = signed(config, "GET", base_url + DOCUMENT_PATH, max_bytes=DOCUMENT_MAX_BYTES)
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise FeedError(f"{base_url} did not answer with an instance document"
                        f" (HTTP {answer.status}).")
    return parse_document(answer.body, base_url)


def parse_document(body: dict[str, Any], base_url: str) -> Document:
    if body.get("software") != "salon" or body.get("api_version") != 1:
        raise FeedError(f"{base_url} is not a Salon instance speaking federation API 1.")
    if body.get("base_url") != base_url:
        raise FeedError(f"{base_url} says its address is {str(body.get('base_url'))[:200]!r}.")
    name = body.get("name")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
        raise FeedError(f"{base_url} has no usable name.")
    found = [_key(item) for item in body.get("keys") or [] if isinstance(item, dict)]
    keys = [key for key in found if key is not None][:4]
    if not keys:
        raise FeedError(f"{base_url} publishes no Ed25519 key.")
    return Document(base_url, name.strip(), keys)


def _key(item: dict[str, Any]) -> dict[str, Any] | None:
    fields = (item.get("id"), item.get("public_key"), item.get("type"))
    if not all(isinstance(value, str) and len(value) < 2000 for value in fields):
        return None
    if item["type"] != "ed25519":
        return None
    return {"id": item["id"], "public_key": item["public_key"],
            "status": str(item.get("status", "current"))[:20]}
