"""This instance's federation identity: an Ed25519 key pair and the instance document.

Private keys are PEM files in ``<instance>/federation/`` (mode 0600):
``key-current.pem`` signs, ``key-previous.pem`` is the key before the last
rotation, still published so requests signed just before a rotation verify.
A key's id is ``<base URL>/.well-known/salon#<fingerprint>``, the fingerprint
being the first 16 hex digits of the SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

API_VERSION = 1
CURRENT = "key-current.pem"
PREVIOUS = "key-previous.pem"
ENDPOINTS = {
    "follow": "/federation/v1/follow",
    "changes": "/federation/v1/changes",
    "media": "/federation/v1/media/{id}/{variant}",
}

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[Any, ...], Identity]] = {}  # key folder → (file stamps, keys)


@dataclass(frozen=True)
class PublicKeyInfo:
    id: str
    public_key_b64: str  # base64url of the raw 32 bytes, no padding
    status: Literal["current", "previous"]


@dataclass(frozen=True)
class Identity:
    key_id: str
    private_key: Ed25519PrivateKey
    keys: list[PublicKeyInfo]


def key_folder(instance: Path) -> Path:
    return Path(instance) / "federation"


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """A peer's published key; ValueError if it is not 32 bytes of base64url."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def key_id_for(base_url: str, key: Ed25519PublicKey) -> str:
    return f"{base_url.rstrip('/')}/.well-known/salon#{fingerprint(key)}"


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_new(path: Path, data: bytes) -> bool:
    """Create ``path`` (0600) with ``data``; False if it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def ensure_identity(instance: Path) -> bool:
    """Make the key pair if this instance has none; True when one was made."""
    folder = key_folder(instance)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return _write_new(folder / CURRENT, _pem(Ed25519PrivateKey.generate()))


def rotate_identity(instance: Path) -> str:
    """Current key becomes the previous one, a new key becomes current; returns the new
    fingerprint. At every moment both files are whole (replace, never move away)."""
    ensure_identity(instance)
    folder = key_folder(instance)
    new_key = Ed25519PrivateKey.generate()
    for name, data in ((PREVIOUS, (folder / CURRENT).read_bytes()), (CURRENT, _pem(new_key))):
        temp = folder / f".{name}.{os.getpid()}.tmp"
        temp.unlink(missing_ok=True)
        _write_new(temp, data)
        os.replace(temp, folder / name)
    return fingerprint(new_key.public_key())


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_ino


def load_identity(config: Mapping[str, Any]) -> Identity:
    """The instance's keys, read once per process and again after a rotation."""
    instance = Path(config["INSTANCE"])
    folder = key_folder(instance)
    if not (folder / CURRENT).exists():
        ensure_identity(instance)
    base_url = str(config["BASE_URL"]).rstrip("/")
    stamp = (base_url, _stamp(folder / CURRENT), _stamp(folder / PREVIOUS))
    with _lock:
        found = _cache.get(str(folder))
        if found is None or found[0] != stamp:
            found = _cache[str(folder)] = (stamp, _read_identity(folder, base_url))
        return found[1]


def _read_identity(folder: Path, base_url: str) -> Identity:
    current = _load_private(folder / CURRENT)
    keys = [_info(base_url, current.public_key(), "current")]
    if (folder / PREVIOUS).exists():
        previous = _load_private(folder / PREVIOUS).public_key()
        if raw_public(previous) != raw_public(current.public_key()):
            keys.append(_info(base_url, previous, "previous"))
    return Identity(key_id=keys[0].id, private_key=current, keys=keys)


def _info(base_url: str, key: Ed25519PublicKey,
          status: Literal["current", "previous"]) -> PublicKeyInfo:
    return PublicKeyInfo(key_id_for(base_url, key), b64url(raw_public(key)), status)


def instance_document(config: Mapping[str, Any], identity: Identity) -> dict[str, Any]:
    """What ``/.well-known/salon`` answers: who we are and how to verify us."""
    return {
        "software": "salon",
        "api_version": API_VERSION,
        "name": config["INSTANCE_NAME"],
        "base_url": str(config["BASE_URL"]).rstrip("/"),
        "keys": [{"id": key.id, "type": "ed25519", "public_key": key.public_key_b64,
                  "status": key.status} for key in identity.keys],
        "endpoints": dict(ENDPOINTS),
    }
