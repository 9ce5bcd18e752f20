"""RFC 9421 signatures: round trips, every refusal, replay protection, the Flask helper,
and interoperability with an independent implementation (http-message-signatures)."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from app.auth.access import public
from app.federation import sfv
from app.federation.identity import Identity, PublicKeyInfo, load_identity
from app.federation.inbound import SignatureRejected, verify_flask_request
from app.federation.signatures import (
    SignatureError,
    content_digest,
    sign_request,
    target_uri,
    verify_request,
)

URL = "http://peer.test:8123/federation/v1/follow?x=1"
BODY = b'{"base_url": "http://me.test:5000", "name": "me"}'


@pytest.fixture
def identity(tmp_path: Path) -> Identity:
    return load_identity({"INSTANCE": tmp_path / "signer", "BASE_URL": "http://me.test:5000",
                          "INSTANCE_NAME": "Me"})


class Replay:
    """An in-memory ``seen`` callable."""

    def __init__(self) -> None:
        self.digests: dict[str, float] = {}

    def __call__(self, digest: str, created: float) -> bool:
        if digest in self.digests:
            return True
        self.digests[digest] = created
        return False


def verify(identity: Identity, method: str, url: str, headers: dict[str, str],
           body: bytes | None, **kwargs: Any) -> Any:
    keys = {identity.key_id: identity.private_key.public_key()}
    kwargs.setdefault("seen", Replay())
    return verify_request(method, url, headers, body, resolve_key=keys.get, **kwargs)


def refused(identity: Identity, method: str, url: str, headers: dict[str, str],
            body: bytes | None, **kwargs: Any) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(identity, method, url, headers, body, **kwargs)
    return caught.value.reason


# -- round trips ------------------------------------------------------------------------


def test_get_without_body_round_trips(identity: Identity) -> None:
    headers = sign_request(identity, "GET", URL, {}, None)
    assert set(headers) == {"Signature-Input", "Signature"}
    assert headers["Signature-Input"].startswith('sig1=("@method" "@target-uri");created=')
    assert 'alg="ed25519"' in headers["Signature-Input"]
    assert ";nonce=" in headers["Signature-Input"]
    result = verify(identity, "GET", URL, headers, None)
    assert result.key_id == identity.key_id
    assert abs(result.created - time.time()) < 300


def test_post_with_body_covers_the_content_digest(identity: Identity) -> None:
    headers = sign_request(identity, "POST", URL, {"Content-Type": "application/json"}, BODY)
    assert headers["Content-Digest"] == content_digest(BODY)
    assert '"content-digest"' in headers["Signature-Input"]
    assert verify(identity, "POST", URL, headers, BODY).key_id == identity.key_id


def test_header_names_are_case_insensitive_and_default_ports_do_not_matter(
        identity: Identity) -> None:
    headers = sign_request(identity, "GET", "https://Peer.TEST:443/a", {}, None)
    lowered = {name.lower(): value for name, value in headers.items()}
    assert verify(identity, "get", "https://peer.test/a", lowered, None)
    assert target_uri("HTTP://Peer.Test:80") == "http://peer.test/"
    assert target_uri("http://[::1]:8080/p?q=1#frag") == "http://[::1]:8080/p?q=1"


def test_two_identical_requests_in_the_same_second_are_both_accepted(
        identity: Identity) -> None:
    seen = Replay()
    created = int(time.time())
    for _ in range(2):
        headers = sign_request(identity, "GET", URL, {}, None, created=created)
        verify(identity, "GET", URL, headers, None, seen=seen)
    assert len(seen.digests) == 2


def test_a_key_from_before_a_rotation_still_verifies_while_published(tmp_path: Path) -> None:
    from app.federation.identity import public_key_from_b64, rotate_identity

    config = {"INSTANCE": tmp_path / "i", "BASE_URL": "http://me.test", "INSTANCE_NAME": "Me"}
    old = load_identity(config)
    headers = sign_request(old, "GET", URL, {}, None)
    rotate_identity(config["INSTANCE"])
    new = load_identity(config)
    published = {key.id: public_key_from_b64(key.public_key_b64) for key in new.keys}
    assert old.key_id in published and new.key_id in published
    assert verify_request("GET", URL, headers, None, resolve_key=published.get, seen=Replay())


# -- refusals ---------------------------------------------------------------------------


def test_unsigned_request_is_refused(identity: Identity) -> None:
    assert refused(identity, "GET", URL, {}, None) == "missing signature"
    only_input = sign_request(identity, "GET", URL, {}, None)
    del only_input["Signature"]
    assert refused(identity, "GET", URL, only_input, None) == "missing signature"


def test_unknown_key_is_refused(identity: Identity, tmp_path: Path) -> None:
    stranger = load_identity({"INSTANCE": tmp_path / "stranger",
                              "BASE_URL": "http://stranger.test", "INSTANCE_NAME": "S"})
    headers = sign_request(stranger, "GET", URL, {}, None)
    assert refused(identity, "GET", URL, headers, None) == "unknown key"


def test_a_key_id_claimed_by_the_wrong_key_is_a_bad_signature(identity: Identity) -> None:
    impostor = Identity(identity.key_id, Ed25519PrivateKey.generate(),
                        [PublicKeyInfo(identity.key_id, "", "current")])
    headers = sign_request(impostor, "GET", URL, {}, None)
    assert refused(identity, "GET", URL, headers, None) == "bad signature"


def test_stale_and_future_signatures_are_refused(identity: Identity) -> None:
    now = time.time()
    stale = sign_request(identity, "GET", URL, {}, None, created=int(now) - 301)
    assert refused(identity, "GET", URL, stale, None, now=now).startswith("stale signature")
    future = sign_request(identity, "GET", URL, {}, None, created=int(now) + 302)
    reason = refused(identity, "GET", URL, future, None, now=now)
    assert reason.startswith("signature from the future")
    edge = sign_request(identity, "GET", URL, {}, None, created=int(now) - 299)
    assert verify(identity, "GET", URL, edge, None, now=now)


@pytest.mark.parametrize(("method", "url"), [
    ("DELETE", URL),
    ("POST", "http://peer.test:8123/federation/v1/follow?x=2"),
    ("POST", "http://other.test:8123/federation/v1/follow?x=1"),
    ("POST", "https://peer.test:8123/federation/v1/follow?x=1"),
])
def test_tampered_method_or_uri_is_refused(identity: Identity, method: str, url: str) -> None:
    headers = sign_request(identity, "POST", URL, {}, BODY)
    assert refused(identity, method, url, headers, BODY) == "bad signature"


def test_tampered_body_is_refused(identity: Identity) -> None:
    headers = sign_request(identity, "POST", URL, {}, BODY)
    reason = refused(identity, "POST", URL, headers, BODY.replace(b"me", b"us"))
    assert reason.startswith("content-digest mismatch")


def test_tampered_content_digest_header_is_refused(identity: Identity) -> None:
    tampered_body = b'{"evil": true}'
    headers = sign_request(identity, "POST", URL, {}, BODY)
    headers["Content-Digest"] = content_digest(tampered_body)  # matches the new body ...
    assert refused(identity, "POST", URL, headers, tampered_body) == "bad signature"  # not sig


def test_a_body_the_signature_does_not_cover_is_refused(identity: Identity) -> None:
    headers = sign_request(identity, "GET", URL, {}, None)
    reason = refused(identity, "POST", URL, headers, b"smuggled")
    assert reason.startswith("missing content-digest")


def test_replayed_request_is_refused(identity: Identity) -> None:
    seen = Replay()
    headers = sign_request(identity, "POST", URL, {}, BODY)
    verify(identity, "POST", URL, headers, BODY, seen=seen)
    assert refused(identity, "POST", URL, headers, BODY, seen=seen) == "replayed signature"


def _resign(identity: Identity, params: dict[str, sfv.BareItem],
            components: tuple[str, ...] = ("@method", "@target-uri")) -> dict[str, str]:
    """A signature made by hand with chosen parameters (correctly signed with our key)."""
    from app.federation.signatures import signature_base

    inner = sfv.InnerList([sfv.Item(name) for name in components], params)
    signature = identity.private_key.sign(signature_base("GET", URL, {}, inner))
    return {"Signature-Input": f"sig1={sfv.serialize_inner_list(inner)}",
            "Signature": f"sig1=:{base64.b64encode(signature).decode()}:"}


def test_wrong_algorithm_is_refused(identity: Identity) -> None:
    params = {"created": int(time.time()), "keyid": identity.key_id, "alg": "rsa-v1_5-sha256"}
    reason = refused(identity, "GET", URL, _resign(identity, params), None)
    assert reason.startswith("unsupported algorithm rsa-v1_5-sha256")


def test_signature_must_cover_method_and_target_uri(identity: Identity) -> None:
    params = {"created": int(time.time()), "keyid": identity.key_id}
    headers = _resign(identity, params, components=("@method",))
    assert refused(identity, "GET", URL, headers, None) == \
        "signature does not cover @target-uri"


def test_created_and_keyid_are_required(identity: Identity) -> None:
    no_created = _resign(identity, {"keyid": identity.key_id})
    assert "no created time" in refused(identity, "GET", URL, no_created, None)
    no_keyid = _resign(identity, {"created": int(time.time())})
    assert "no keyid" in refused(identity, "GET", URL, no_keyid, None)


def test_expired_signature_is_refused(identity: Identity) -> None:
    now = int(time.time())
    headers = _resign(identity, {"created": now, "keyid": identity.key_id, "expires": now - 1})
    assert refused(identity, "GET", URL, headers, None) == "stale signature: expired"


@pytest.mark.parametrize("signature_input", [
    "sig1=(\"@method\" \"@target-uri\";created=1",
    "sig1=(\"@method\" \"@target-uri\");created=1;keyid=\"unterminated",
    "sig1=(\"@method\" \"@target-uri\"),",
    "sig1=\"not a list\"",
    "other=(\"@method\" \"@target-uri\");created=1;keyid=\"k\"",
])
def test_malformed_signature_headers_are_refused(identity: Identity,
                                                 signature_input: str) -> None:
    headers = {"Signature-Input": signature_input, "Signature": "sig1=:AAAA:"}
    assert refused(identity, "GET", URL, headers, None).startswith("malformed signature")


# -- interoperability -------------------------------------------------------------------


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def resolve_public_key(self, key_id: str) -> Any:
        return self.identity.private_key.public_key() if key_id == self.identity.key_id \
            else None

    def resolve_private_key(self, key_id: str) -> Any:
        return self.identity.private_key


def test_requests_salon_signs_verify_with_the_independent_implementation(
        identity: Identity) -> None:
    headers = {"Content-Type": "application/json"}
    headers |= sign_request(identity, "POST", URL, headers, BODY)
    request = httpx.Request("POST", URL, headers=headers, content=BODY)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519,
                                   key_resolver=_Keys(identity))
    [result] = verifier.verify(request, body=BODY,
                               require_components=("@method", "@target-uri", "content-digest"))
    assert result.parameters["keyid"] == identity.key_id
    assert result.label == "sig1"
    tampered = httpx.Request("PUT", URL, headers=headers, content=BODY)
    with pytest.raises(InvalidSignature):
        verifier.verify(tampered, body=BODY)


def test_requests_the_independent_implementation_signs_verify_in_salon(
        identity: Identity) -> None:
    request = httpx.Request("POST", URL, headers={"Content-Type": "application/json"},
                            content=BODY)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=_Keys(identity))
    signer.sign(request, key_id=identity.key_id, label="sig1", nonce="n-1",
                covered_component_ids=("@method", "@target-uri"), body=BODY)
    headers = dict(request.headers)
    result = verify(identity, "POST", URL, headers, BODY)
    assert result.key_id == identity.key_id
    assert refused(identity, "POST", URL, headers, b"other body").startswith(
        "content-digest mismatch")


def test_a_signature_from_the_independent_implementation_with_its_own_label(
        identity: Identity) -> None:
    request = httpx.Request("GET", URL)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=_Keys(identity))
    signer.sign(request, key_id=identity.key_id,
                covered_component_ids=("@method", "@authority", "@target-uri"))
    assert dict(request.headers)["signature"].startswith("pyhms=")
    assert verify(identity, "GET", URL, dict(request.headers), None)


# -- inside Flask -----------------------------------------------------------------------


def _echo_route(app: Any, identity: Identity) -> None:
    keys = {identity.key_id: identity.private_key.public_key()}

    @public
    def echo() -> Any:
        verified = verify_flask_request(keys.get)
        return {"key_id": verified.key_id}

    app.add_url_rule("/federation/v1/test-echo", "test_echo", echo)


def test_flask_helper_accepts_once_then_refuses_the_replay_with_401_json(
        app: Any, db: Any, identity: Identity) -> None:
    _echo_route(app, identity)
    client = app.test_client()
    url = app.config["BASE_URL"] + "/federation/v1/test-echo?page=2"
    headers = sign_request(identity, "GET", url, {}, None)
    first = client.get("/federation/v1/test-echo?page=2", headers=headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"key_id": identity.key_id}
    assert db.value("SELECT count(*) FROM federation_replay") == 1
    again = client.get("/federation/v1/test-echo?page=2", headers=headers,
                       environ_base={"HTTP_ACCEPT": "application/json"})
    assert again.status_code == 401
    assert again.get_json() == {"error": "signature rejected", "reason": "replayed signature"}


def test_flask_helper_builds_the_target_from_the_base_url_not_the_host_header(
        app: Any, identity: Identity) -> None:
    _echo_route(app, identity)
    client = app.test_client()
    # Signed for another instance's URL, then sent here: refused.
    headers = sign_request(identity, "GET", "http://elsewhere.test/federation/v1/test-echo",
                           {}, None)
    response = client.get("/federation/v1/test-echo", headers={**headers,
                                                                "Host": "elsewhere.test"})
    assert response.status_code == 401
    assert response.get_json()["reason"] == "bad signature"


def test_flask_helper_checks_the_body_and_prunes_old_replay_rows(
        app: Any, db: Any, identity: Identity) -> None:
    db.execute("INSERT INTO federation_replay (digest, seen_at) VALUES ('old', ?)",
               (time.time() - 1000,))
    keys = {identity.key_id: identity.private_key.public_key()}
    url = app.config["BASE_URL"] + "/federation/v1/follow"
    headers = sign_request(identity, "POST", url, {}, BODY)
    with app.test_request_context("/federation/v1/follow", method="POST", headers=headers,
                                  data=BODY.replace(b"me", b"us")):
        with pytest.raises(SignatureRejected) as caught:
            verify_flask_request(keys.get)
        assert caught.value.status == 401
        assert caught.value.reason.startswith("content-digest mismatch")
    with app.test_request_context("/federation/v1/follow", method="POST", headers=headers,
                                  data=BODY):
        assert verify_flask_request(keys.get).key_id == identity.key_id
    digests = [row["digest"] for row in db.all("SELECT digest FROM federation_replay")]
    assert "old" not in digests and len(digests) == 1
