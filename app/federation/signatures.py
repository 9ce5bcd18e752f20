"""RFC 9421 HTTP Message Signatures with Ed25519, and RFC 9530 ``Content-Digest``.

Every server-to-server request carries one signature labelled ``sig1`` over
``"@method" "@target-uri"`` (and ``"content-digest"`` when there is a body),
with the parameters ``created``, ``keyid``, ``alg="ed25519"`` and a random
``nonce`` (two identical requests in the same second are then still two
different signatures, so the replay table can refuse true replays).

``verify_request`` checks, in order: present, well-formed, algorithm,
freshness (``created`` within ``max_age`` seconds either way), coverage,
body digest, known key, the signature itself, and finally that the signature
was not seen before. Each failure raises ``SignatureError`` with a reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.federation import sfv
from app.federation.identity import Identity

LABEL = "sig1"
ALG = "ed25519"
MAX_AGE = 300
REQUIRED = ("@method", "@target-uri")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_URL_PARTS: dict[str, Callable[[SplitResult], str]] = {
    "@authority": lambda parts: parts.netloc,
    "@scheme": lambda parts: parts.scheme,
    "@path": lambda parts: parts.path,
    "@query": lambda parts: f"?{parts.query}",
}

ResolveKey = Callable[[str], Ed25519PublicKey | None]
Seen = Callable[[str, float], bool]


class SignatureError(Exception):
    """A request's signature was refused; ``reason`` says why (safe to show the sender)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Verified:
    key_id: str
    created: int


def target_uri(url: str) -> str:
    """The ``@target-uri`` of a request URL: scheme and host lower-cased, default port
    and fragment dropped, an empty path made ``/``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def content_digest(body: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}:"


def _lower_headers(headers: Mapping[str, str] | Any) -> dict[str, str]:
    """Header names lower-cased; repeated fields joined with ", " as HTTP combines them."""
    combined: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        combined[key] = f"{combined[key]}, {value.strip()}" if key in combined else value.strip()
    return combined


def _component(name: str, method: str, url: str, headers: dict[str, str]) -> str:
    if name == "@method":
        return method.upper()
    if name == "@target-uri":
        return target_uri(url)
    if name in _URL_PARTS:
        return _URL_PARTS[name](urlsplit(target_uri(url)))
    if name.startswith("@"):
        raise SignatureError(f"malformed signature: unsupported component {name}")
    if name not in headers:
        raise SignatureError(f"malformed signature: covered header {name} is missing")
    return headers[name]


def signature_base(method: str, url: str, headers: dict[str, str],
                   signature_input: sfv.InnerList) -> bytes:
    lines = []
    for item in signature_input.items:
        name = str(item.value)
        value = _component(name, method, url, headers)
        if "\n" in value or "\r" in value:
            raise SignatureError(f"malformed signature: newline in {name}")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {sfv.serialize_inner_list(signature_input)}')
    base = "\n".join(lines)
    if not base.isascii():
        raise SignatureError("malformed signature: non-ASCII signature base")
    return base.encode("ascii")


# -- signing ----------------------------------------------------------------------------


def sign_request(identity: Identity, method: str, url: str, headers: Mapping[str, str],
                 body: bytes | None, *, created: int | None = None) -> dict[str, str]:
    """The headers to add to a request: ``Signature-Input``, ``Signature`` and, when there
    is a body, ``Content-Digest``."""
    added: dict[str, str] = {}
    covered = list(REQUIRED)
    if body is not None:
        added["Content-Digest"] = content_digest(body)
        covered.append("content-digest")
    params: dict[str, sfv.BareItem] = {
        "created": int(time.time()) if created is None else created,
        "keyid": identity.key_id,
        "alg": ALG,
        "nonce": secrets.token_urlsafe(16),
    }
    signature_input = sfv.InnerList([sfv.Item(name) for name in covered], params)
    all_headers = _lower_headers({**dict(headers), **added})
    signature = identity.private_key.sign(signature_base(method, url, all_headers,
                                                         signature_input))
    added["Signature-Input"] = f"{LABEL}={sfv.serialize_inner_list(signature_input)}"
    added["Signature"] = f"{LABEL}={sfv.serialize_bare(signature)}"
    return added


# -- verifying --------------------------------------------------------------------------


def verify_request(method: str, url: str, headers: Mapping[str, str] | Any, body: bytes | None,
                   *, resolve_key: ResolveKey, seen: Seen, now: float | None = None,
                   max_age: int = MAX_AGE) -> Verified:
    """Check a received request's signature; raise ``SignatureError(reason)`` if refused."""
    now = time.time() if now is None else now
    fields = _lower_headers(headers)
    signature_input, signature = _select(fields)
    params = signature_input.params
    key_id, created = _check_params(params, now, max_age)
    covered = _covered(signature_input, bool(body))
    if "content-digest" in covered or "content-digest" in fields:
        _check_digest(fields, body or b"")
    key = resolve_key(key_id)
    if key is None:
        raise SignatureError("unknown key")
    try:
        key.verify(signature, signature_base(method, url, fields, signature_input))
    except InvalidSignature:
        raise SignatureError("bad signature") from None
    if seen(hashlib.sha256(signature).hexdigest(), float(created)):
        raise SignatureError("replayed signature")
    return Verified(key_id, created)


def _select(fields: dict[str, str]) -> tuple[sfv.InnerList, bytes]:
    if "signature-input" not in fields or "signature" not in fields:
        raise SignatureError("missing signature")
    try:
        inputs = sfv.parse_dictionary(fields["signature-input"])
        signatures = sfv.parse_dictionary(fields["signature"])
    except ValueError as exc:
        raise SignatureError(f"malformed signature: {exc}") from None
    label = LABEL if LABEL in inputs else next(iter(inputs), "")
    if len(inputs) > 1 and LABEL not in inputs:
        raise SignatureError(f"malformed signature: several signatures and none is {LABEL}")
    member, value = inputs.get(label), signatures.get(label)
    if not isinstance(member, sfv.InnerList) or not isinstance(value, sfv.Item):
        raise SignatureError("malformed signature: Signature-Input and Signature do not match")
    if not isinstance(value.value, bytes) or not member.items:
        raise SignatureError("malformed signature: expected a byte sequence and components")
    return member, value.value


def _check_params(params: dict[str, sfv.BareItem], now: float,
                  max_age: int) -> tuple[str, int]:
    created, key_id, alg = params.get("created"), params.get("keyid"), params.get("alg", ALG)
    if not isinstance(created, int) or isinstance(created, bool):
        raise SignatureError("malformed signature: no created time")
    if not isinstance(key_id, str) or isinstance(key_id, sfv.Token) or not key_id:
        raise SignatureError("malformed signature: no keyid")
    if alg != ALG:
        raise SignatureError(f"unsupported algorithm {alg!s}; only {ALG} is accepted")
    if now - created > max_age:
        raise SignatureError(f"stale signature: created {int(now - created)} s ago")
    if created - now > max_age:
        raise SignatureError(f"signature from the future: created {int(created - now)} s ahead")
    expires = params.get("expires")
    if isinstance(expires, int) and not isinstance(expires, bool) and expires < now:
        raise SignatureError("stale signature: expired")
    return key_id, created


def _covered(signature_input: sfv.InnerList, has_body: bool) -> list[str]:
    names = []
    for item in signature_input.items:
        if not isinstance(item.value, str) or isinstance(item.value, sfv.Token) or item.params:
            raise SignatureError("malformed signature: components must be plain strings")
        names.append(item.value)
    if len(set(names)) != len(names):
        raise SignatureError("malformed signature: a component is covered twice")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise SignatureError(f"signature does not cover {', '.join(missing)}")
    if has_body and "content-digest" not in names:
        raise SignatureError("missing content-digest: the body is not covered")
    return names


def _check_digest(fields: dict[str, str], body: bytes) -> None:
    if "content-digest" not in fields:
        raise SignatureError("missing content-digest")
    try:
        digests = sfv.parse_dictionary(fields["content-digest"])
    except ValueError as exc:
        raise SignatureError(f"malformed content-digest: {exc}") from None
    known = [(name, member) for name, member in digests.items() if name in _DIGESTS]
    if not known:
        raise SignatureError("malformed content-digest: no sha-256 or sha-512 digest")
    for name, member in known:
        expected = _DIGESTS[name](body).digest()
        if not isinstance(member, sfv.Item) or not isinstance(member.value, bytes) \
                or not hmac.compare_digest(member.value, expected):
            raise SignatureError("content-digest mismatch: the body was changed")
