"""The instance's key pair, its rotation, and the instance document at /.well-known/salon."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import Any

from app import create_app
from app.federation.identity import (
    CURRENT,
    PREVIOUS,
    ensure_identity,
    key_folder,
    load_identity,
    public_key_from_b64,
    raw_public,
    rotate_identity,
)
from app.federation.signatures import sign_request, verify_request


def test_salon_init_makes_a_private_key_readable_only_by_its_owner(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import main

    app = create_app({"INSTANCE": tmp_path / "inst", "UPLOADS": tmp_path / "up",
                      "SECRET_KEY": "x"})
    result = CliRunner().invoke(main, ["init"], obj=app, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    key = key_folder(tmp_path / "inst") / CURRENT
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) & 0o077 == 0
    before = key.read_bytes()
    assert CliRunner().invoke(main, ["init"], obj=app).exit_code == 0
    assert key.read_bytes() == before  # a second init keeps the key
    app.extensions["salon.db"].close()


def test_ensure_identity_makes_one_key_only(tmp_path: Path) -> None:
    assert ensure_identity(tmp_path) is True
    first = (key_folder(tmp_path) / CURRENT).read_bytes()
    assert ensure_identity(tmp_path) is False
    assert (key_folder(tmp_path) / CURRENT).read_bytes() == first


def test_key_id_is_the_document_url_and_a_fingerprint(tmp_path: Path) -> None:
    identity = load_identity({"INSTANCE": tmp_path, "BASE_URL": "https://salon.test/",
                              "INSTANCE_NAME": "S"})
    raw = raw_public(identity.private_key.public_key())
    assert identity.key_id == ("https://salon.test/.well-known/salon#"
                               + hashlib.sha256(raw).hexdigest()[:16])
    [info] = identity.keys
    assert info.status == "current" and info.id == identity.key_id
    assert raw_public(public_key_from_b64(info.public_key_b64)) == raw


def test_rotation_keeps_the_previous_key_published(tmp_path: Path) -> None:
    config = {"INSTANCE": tmp_path, "BASE_URL": "http://s.test", "INSTANCE_NAME": "S"}
    old = load_identity(config)
    new_fingerprint = rotate_identity(tmp_path)
    new = load_identity(config)  # the cache notices the files changed
    assert new.key_id.endswith("#" + new_fingerprint) and new.key_id != old.key_id
    assert [(key.id, key.status) for key in new.keys] == [(new.key_id, "current"),
                                                          (old.key_id, "previous")]
    folder = key_folder(tmp_path)
    assert stat.S_IMODE((folder / PREVIOUS).stat().st_mode) == 0o600
    assert sorted(path.name for path in folder.iterdir()) == [CURRENT, PREVIOUS]
    # A second rotation drops the oldest key.
    rotate_identity(tmp_path)
    newest = load_identity(config)
    assert [key.id for key in newest.keys] == [newest.key_id, new.key_id]


def test_the_instance_document_is_public_json(app: Any, make_user: Any) -> None:
    make_user("someone")  # setup done: anonymous visitors are otherwise sent to /login
    response = app.test_client().get("/.well-known/salon")
    assert response.status_code == 200
    document = response.get_json()
    identity = load_identity(app.config)
    assert document == {
        "software": "salon",
        "api_version": 1,
        "name": app.config["INSTANCE_NAME"],
        "base_url": app.config["BASE_URL"],
        "keys": [{"id": identity.key_id, "type": "ed25519",
                  "public_key": identity.keys[0].public_key_b64, "status": "current"}],
        "endpoints": {"follow": "/federation/v1/follow",
                      "changes": "/federation/v1/changes",
                      "media": "/federation/v1/media/{id}/{variant}"},
    }


def test_the_document_lets_a_peer_verify_our_signatures(app: Any) -> None:
    rotate_identity(app.config["INSTANCE"])
    document = app.test_client().get("/.well-known/salon").get_json()
    assert [key["status"] for key in document["keys"]] == ["current", "previous"]
    keys = {key["id"]: public_key_from_b64(key["public_key"]) for key in document["keys"]}
    url = "http://peer.test/federation/v1/changes?after=0"
    headers = sign_request(load_identity(app.config), "GET", url, {}, None)
    verified = verify_request("GET", url, headers, None, resolve_key=keys.get,
                              seen=lambda digest, created: False)
    assert verified.key_id == document["keys"][0]["id"]
