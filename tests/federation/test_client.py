"""The guarded outbound client against a hostile server on loopback.

Policy under test (see app/federation/client.py): without ``allow_private``
only public unicast addresses are contacted; with it, loopback and private
addresses are allowed too, but unspecified, link-local (metadata), multicast
and reserved addresses never are. Redirects are re-resolved and re-checked.
No test contacts anything but loopback: refused addresses are refused before
any connection is attempted.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.federation.client import OutboundClient, OutboundError, address_blocked
from tests.federation.hostile import (
    HostileServer,
    body_response,
    huge,
    json_response,
    redirect,
    trickle,
)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        running.route("/doc", json_response({"software": "salon"}))
        yield running


def client(allow_private: bool = True, **kwargs: object) -> OutboundClient:
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("max_bytes", 1 << 20)
    return OutboundClient(allow_private, **kwargs)  # type: ignore[arg-type]


def reason(outbound: OutboundClient, url: str, **kwargs: object) -> str:
    with pytest.raises(OutboundError) as caught:
        outbound.request("GET", url, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


# -- the address policy -----------------------------------------------------------------


@pytest.mark.parametrize(("address", "without", "with_private"), [
    ("93.184.216.34", False, False),
    ("2606:4700::1111", False, False),
    ("127.0.0.1", True, False),
    ("127.8.9.10", True, False),
    ("::1", True, False),
    ("10.1.2.3", True, False),
    ("172.16.0.1", True, False),
    ("192.168.1.1", True, False),
    ("100.64.0.1", True, False),  # CGNAT
    ("198.18.0.1", True, False),  # benchmarking
    ("fd12:3456::1", True, False),  # unique local
    ("::ffff:127.0.0.1", True, False),  # IPv4-mapped loopback
    ("::ffff:93.184.216.34", True, False),  # mapped, even public: refused without the flag
    ("2002:7f00:1::", True, False),  # 6to4 of 127.0.0.1
    ("64:ff9b::a00:1", True, False),  # NAT64 of 10.0.0.1
    ("0.0.0.0", True, True),
    ("0.1.2.3", True, True),
    ("::", True, True),
    ("169.254.169.254", True, True),  # cloud metadata
    ("169.254.1.1", True, True),
    ("fe80::1", True, True),
    ("fd00:ec2::254", True, True),
    ("100.100.100.200", True, True),
    ("224.0.0.1", True, True),
    ("ff02::1", True, True),
    ("255.255.255.255", True, True),
    ("240.0.0.1", True, True),
    ("::ffff:169.254.169.254", True, True),  # mapped metadata stays refused
    ("::ffff:0.0.0.0", True, True),
])
def test_address_policy(address: str, without: bool, with_private: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert address_blocked(ip, allow_private=False) is without
    assert address_blocked(ip, allow_private=True) is with_private


# -- refusals before connecting ---------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]",
                                  "localhost", "0.0.0.0", "[::ffff:127.0.0.1]"])
def test_private_addresses_are_refused_without_the_setting(server: HostileServer,
                                                            host: str) -> None:
    url = f"http://{host}:{server.port}/doc"
    assert reason(client(allow_private=False), url).startswith("blocked address ")
    assert server.requests == []


def test_a_name_with_any_blocked_address_is_refused(server: HostileServer) -> None:
    def resolver(host: str, port: int) -> list[str]:
        assert host == "peer.example"
        return ["93.184.216.34", "127.0.0.1"]

    outbound = client(allow_private=False, resolver=resolver)
    assert reason(outbound, f"http://peer.example:{server.port}/doc") == \
        "blocked address 127.0.0.1"
    assert server.requests == []


@pytest.mark.parametrize(("url", "expected"), [
    ("ftp://127.0.0.1/x", "scheme not allowed: ftp"),
    ("file:///etc/passwd", "scheme not allowed: file"),
    ("gopher://127.0.0.1:70/", "scheme not allowed: gopher"),
    ("http://user:pw@127.0.0.1/doc", "credentials in URL"),
    ("http://peer.test@127.0.0.1/doc", "credentials in URL"),
    ("http:///nohost", "bad URL: no host"),
    ("http://127.0.0.1:99999/", "bad URL: Port out of range 0-65535"),
])
def test_bad_urls_are_refused(url: str, expected: str) -> None:
    assert reason(client(), url) == expected


def test_metadata_and_unspecified_addresses_are_refused_even_with_the_setting() -> None:
    outbound = client(allow_private=True)
    assert reason(outbound, "http://169.254.169.254/latest/meta-data/") == \
        "blocked address 169.254.169.254"
    assert reason(outbound, "http://0.0.0.0:80/") == "blocked address 0.0.0.0"
    assert reason(outbound, "http://[fe80::1]/") == "blocked address fe80::1"


def test_a_hanging_name_lookup_gives_up_with_the_timeout(server: HostileServer) -> None:
    release = threading.Event()
    answered: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        release.wait(30)  # a resolver that does not answer until released
        answered.append(host)
        return ["127.0.0.1"]

    outbound = client(resolver=resolver, timeout=0.2)
    try:
        assert reason(outbound, f"http://slow.test:{server.port}/doc") == \
            "cannot resolve slow.test: timed out"
        assert answered == []  # the request gave up while the lookup still hung
    finally:
        release.set()
    assert server.requests == []


def test_a_failing_name_lookup_names_the_host() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    assert reason(client(resolver=resolver), "http://nowhere.test/doc") == \
        "cannot resolve nowhere.test: [Errno -2] Name or service not known"


# -- connecting to the checked address --------------------------------------------------


def test_connects_to_the_checked_address_and_keeps_the_host_name(
        server: HostileServer) -> None:
    calls = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    outbound = client(resolver=resolver)
    response = outbound.request("GET", f"http://peer.test:{server.port}/doc",
                                headers={"Accept": "application/json"})
    assert response.status == 200 and response.json() == {"software": "salon"}
    assert calls == ["peer.test"]  # resolved once
    [seen] = server.requests
    assert seen.headers["host"] == f"peer.test:{server.port}"
    assert seen.headers["accept-encoding"] == "identity"


def test_json_body_and_signer(server: HostileServer) -> None:
    server.route("/in", json_response({"state": "pending"}, status=202))
    signed = []

    def signer(method: str, url: str, headers: dict[str, str],
               body: bytes | None) -> dict[str, str]:
        signed.append((method, url, headers["Host"], body))
        return {"X-Signed": "yes"}

    response = client().request("POST", server.url("/in"), json={"a": 1}, signer=signer)
    assert response.status == 202 and response.json() == {"state": "pending"}
    [seen] = server.requests
    assert json.loads(seen.body) == {"a": 1}
    assert seen.headers["x-signed"] == "yes"
    assert seen.headers["content-type"] == "application/json"
    assert signed == [("POST", server.url("/in"), f"127.0.0.1:{server.port}", seen.body)]


def test_the_body_can_stream_to_a_file(server: HostileServer, tmp_path: Path) -> None:
    server.route("/file", body_response(b"x" * 300_000, "image/png"))
    dest = tmp_path / "out.bin"
    response = client().request("GET", server.url("/file"), dest=dest)
    assert response.status == 200 and response.content == b"" and response.size == 300_000
    assert dest.read_bytes() == b"x" * 300_000


# -- redirects --------------------------------------------------------------------------


def test_redirects_are_followed_and_each_hop_is_signed_again(server: HostileServer) -> None:
    server.route("/a", redirect("/b", 301))
    server.route("/b", redirect(server.url("/doc"), 307))
    urls = []

    def signer(method: str, url: str, headers: dict[str, str],
               body: bytes | None) -> dict[str, str]:
        urls.append(url)
        return {"X-Hop": url}

    response = client().request("GET", server.url("/a"), signer=signer)
    assert response.status == 200 and response.url == server.url("/doc")
    assert urls == [server.url("/a"), server.url("/b"), server.url("/doc")]
    assert [seen.headers["x-hop"] for seen in server.requests] == urls


def test_more_than_two_redirects_are_refused(server: HostileServer) -> None:
    for name, target in (("/r1", "/r2"), ("/r2", "/r3"), ("/r3", "/doc")):
        server.route(name, redirect(target))
    assert reason(client(), server.url("/r1")) == "too many redirects (more than 2)"
    assert [seen.path for seen in server.requests] == ["/r1", "/r2", "/r3"]
    assert client().request("GET", server.url("/r2")).status == 200  # two are fine


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://0.0.0.0:80/",
    "http://[::ffff:169.254.169.254]/",
])
def test_redirect_to_a_metadata_address_is_refused_with_private_allowed(
        server: HostileServer, target: str) -> None:
    server.route("/go", redirect(target))
    assert reason(client(allow_private=True), server.url("/go")).startswith("blocked address")
    assert [seen.path for seen in server.requests] == ["/go"]


def test_redirect_to_loopback_is_refused_when_the_first_hop_was_allowed() -> None:
    # The first hop is the one address exempted from the policy (a stand-in for a public
    # peer; tests may not leave loopback); its redirect to 127.0.0.1 must be re-checked.
    with HostileServer("127.0.0.2") as first, HostileServer("127.0.0.1") as inner:
        inner.route("/admin", json_response({"secret": True}))
        first.route("/go", redirect(inner.url("/admin")))
        outbound = client(allow_private=False, exempt=["127.0.0.2"])
        assert outbound.request("GET", first.url("/nothing")).status == 404  # reachable
        assert reason(outbound, first.url("/go")) == "blocked address 127.0.0.1"
        assert inner.requests == []


# -- size and time caps -----------------------------------------------------------------


def test_a_huge_announced_body_is_refused_before_reading(server: HostileServer,
                                                         tmp_path: Path) -> None:
    server.route("/huge", huge(2**30, announce_length=True))
    dest = tmp_path / "huge.bin"
    assert reason(client(), server.url("/huge"), dest=dest) == \
        "response larger than 1048576 bytes"
    assert not dest.exists()
    assert server.sent.get("/huge", 0) < 64 * 2**20


def test_a_huge_unannounced_body_is_cut_at_the_cap(server: HostileServer,
                                                   tmp_path: Path) -> None:
    server.route("/huge", huge(2**30, announce_length=False))
    dest = tmp_path / "huge.bin"
    assert reason(client(), server.url("/huge"), dest=dest, max_bytes=2 * 2**20) == \
        "response larger than 2097152 bytes"
    assert not dest.exists()
    # Stopped early: the kernel's socket buffers hold a few MB at most, never the 1 GB.
    assert server.sent.get("/huge", 0) < 64 * 2**20


def test_a_trickling_server_is_cut_at_the_deadline(server: HostileServer) -> None:
    server.route("/slow", trickle(total=100_000, every=0.02))
    outbound = client(timeout=0.4, total_timeout=1.0)
    assert reason(outbound, server.url("/slow")) == "timed out"
    assert server.sent.get("/slow", 0) < 100_000


def test_a_silent_server_times_out(server: HostileServer) -> None:
    server.route("/silent", trickle(total=10, every=5.0))
    assert reason(client(timeout=0.3, total_timeout=5.0), server.url("/silent")) == "timed out"


def test_compressed_bodies_are_refused(server: HostileServer) -> None:
    bomb = gzip.compress(b"\x00" * 10_000_000)
    server.route("/gz", body_response(bomb, "application/json",
                                      headers={"Content-Encoding": "gzip"}))
    assert reason(client(), server.url("/gz")) == "compressed response (gzip) not accepted"


def test_connection_refused_is_an_outbound_error() -> None:
    with HostileServer() as gone:
        url = gone.url("/doc")
    assert reason(client(), url).startswith("connection failed")


# -- TLS: the checked address is dialled, the certificate is checked for the name --------


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_dials_the_checked_address_and_verifies_the_name(tmp_path: Path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path, "peer.test")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    with HostileServer(tls=server_context) as server:
        server.route("/doc", json_response({"tls": True}))
        outbound = client(resolver=lambda host, port: ["127.0.0.1"], verify=trust)
        response = outbound.request("GET", f"https://peer.test:{server.port}/doc")
        assert response.json() == {"tls": True}
        assert server.requests[0].headers["host"] == f"peer.test:{server.port}"
        # The same server reached by its address: the certificate does not name it.
        assert reason(outbound, server.url("/doc")).startswith("connection failed")
        assert len(server.requests) == 1
