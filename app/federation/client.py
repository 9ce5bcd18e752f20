"""The one outbound HTTP client of federation, with an SSRF guard.

Every request: only ``http``/``https``, no credentials in the URL; the host is
resolved once and refused if ANY of its addresses is not a public unicast
address (``address_blocked``); the connection goes to the checked address
(the URL is rewritten to the IP, ``Host`` and TLS SNI keep the name, so DNS
rebinding between check and connect is impossible); redirects are followed
by hand, at most ``max_redirects``, each hop resolved, checked and signed
again; the name lookup, connect/read/write/pool timeouts plus an overall deadline (a server
trickling bytes is cut off); the body is streamed and cut at ``max_bytes``
(refused up front when ``Content-Length`` says it is larger); compressed
bodies are not accepted (no decompression bombs).

``allow_private`` (``SALON_FEDERATION_ALLOW_PRIVATE``) admits loopback,
private (RFC 1918, IPv6 unique-local), shared (CGNAT) and other special-use
unicast addresses, for LAN peers and tests. Whatever the setting, these are
never contacted: unspecified (``0.0.0.0/8``, ``::``), link-local
(``169.254.0.0/16``, ``fe80::/10``: cloud metadata services live there),
known metadata addresses, multicast, and ``240.0.0.0/4`` (reserved and
broadcast). IPv6 addresses that embed an IPv4 address (IPv4-mapped,
-compatible, NAT64, 6to4, Teredo) are refused without ``allow_private`` and
judged by their IPv4 address with it.
"""

from __future__ import annotations

import io
import ipaddress
import json as jsonlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Signer = Callable[[str, str, dict[str, str], bytes | None], dict[str, str]]
Resolver = Callable[[str, int], list[str]]

USER_AGENT = "Salon-federation/1"
REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}
NEVER_ALLOWED = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
    "100.100.100.200/32",  # a cloud metadata service outside link-local
    "::/128", "fe80::/10", "ff00::/8", "fd00:ec2::254/128",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPAT = ipaddress.ip_network("::/96")


class OutboundError(Exception):
    """An outbound request was refused or failed; ``reason`` is for logs and users."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    content: bytes  # empty when the body went to ``dest``
    url: str  # after redirects
    size: int

    def json(self) -> Any:
        return jsonlib.loads(self.content)


# -- the address guard ------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_blocked(ip: IPAddress, allow_private: bool) -> bool:
    """True when Salon must not connect to ``ip`` (see the module's docstring)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return not allow_private or address_blocked(embedded, allow_private)
    if any(ip.version == net.version and ip in net for net in NEVER_ALLOWED):
        return True
    return not allow_private and not ip.is_global


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# -- URLs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    parts: SplitResult
    host: str
    port: int

    @property
    def host_header(self) -> str:
        literal = f"[{self.host}]" if ":" in self.host else self.host
        default = _DEFAULT_PORTS[self.parts.scheme]
        return literal if self.port == default else f"{literal}:{self.port}"

    def at(self, ip: str) -> str:
        literal = f"[{ip}]" if ":" in ip else ip
        netloc = f"{literal}:{self.port}"
        return urlunsplit((self.parts.scheme, netloc, self.parts.path or "/",
                           self.parts.query, ""))


def parse_target(url: str) -> _Target:
    if len(url) > 2048 or not url.isascii() or any(c in url for c in "\r\n\t "):
        raise OutboundError("bad URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundError(f"bad URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise OutboundError(f"scheme not allowed: {scheme or 'none'}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise OutboundError("credentials in URL")
    host = parts.hostname
    if not host:
        raise OutboundError("bad URL: no host")
    parts = parts._replace(scheme=scheme)
    return _Target(url, parts, host.lower(), port or _DEFAULT_PORTS[scheme])


# -- the client -------------------------------------------------------------------------


class OutboundClient:
    """Guarded outbound HTTP; safe to share between threads."""

    def __init__(self, allow_private: bool, timeout: float, max_bytes: int,
                 max_redirects: int = 2, *, total_timeout: float | None = None,
                 resolver: Resolver | None = None, exempt: Iterable[str] = (),
                 verify: ssl.SSLContext | bool = True) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.total_timeout = total_timeout or 3 * timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.resolver = resolver or system_resolver
        # Addresses allowed whatever the policy: tests, or a single known LAN peer.
        self.exempt = frozenset(str(ipaddress.ip_address(ip)) for ip in exempt)
        # Plain HTTP may reuse connections; TLS may not: the pool is keyed by address, and a
        # connection verified for one name must never carry a request for another.
        self._plain = httpx.Client(trust_env=False, follow_redirects=False,
                                   limits=httpx.Limits(max_keepalive_connections=8))
        self._tls = httpx.Client(trust_env=False, follow_redirects=False, verify=verify,
                                 limits=httpx.Limits(max_keepalive_connections=0))

    def close(self) -> None:
        self._plain.close()
        self._tls.close()

    def request(self, method: str, url: str, *, json: Any = None,
                headers: Mapping[str, str] | None = None, signer: Signer | None = None,
                max_bytes: int | None = None, dest: Path | None = None) -> OutboundResponse:
        """Send one request (following redirects); raise ``OutboundError`` when refused."""
        deadline = time.monotonic() + self.total_timeout
        body = None if json is None else jsonlib.dumps(json).encode("utf-8")
        method = method.upper()
        for _hop in range(self.max_redirects + 1):
            response = self._send(method, url, body, dict(headers or {}), signer, deadline)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                return self._finish(response, url, max_bytes or self.max_bytes, dest, deadline)
            response.close()
            log.info("outbound %s %s → %s redirect", method, url, response.status_code)
            url = urljoin(url, location)
            if response.status_code == 303 or (response.status_code in (301, 302)
                                               and method == "POST"):
                method, body = "GET", None
        raise OutboundError(f"too many redirects (more than {self.max_redirects})")

    def check_url(self, url: str) -> str:
        """The address a request to ``url`` would connect to; ``OutboundError`` if refused."""
        target = parse_target(url)
        return self._address(target)

    def _address(self, target: _Target, deadline: float | None = None) -> str:
        try:
            literal = ipaddress.ip_address(target.host)
            found = [str(literal)]
        except ValueError:
            found = self._resolve(target, deadline)
        if not found:
            raise OutboundError(f"cannot resolve {target.host}")
        for text in found:
            ip = ipaddress.ip_address(text)
            if str(ip) not in self.exempt and address_blocked(ip, self.allow_private):
                raise OutboundError(f"blocked address {ip}")
        return found[0]

    def _resolve(self, target: _Target, deadline: float | None = None) -> list[str]:
        # getaddrinfo has no timeout of its own: it runs in a daemon thread and the request
        # gives up when the lookup outlives the connect timeout (or the overall deadline).
        wait = self.timeout if deadline is None else _remaining(deadline, self.timeout)
        answer: list[list[str] | BaseException] = []

        def lookup() -> None:
            try:
                answer.append(self.resolver(target.host, target.port))
            except BaseException as exc:  # handed to the waiting thread
                answer.append(exc)

        worker = threading.Thread(target=lookup, name="salon-resolve", daemon=True)
        worker.start()
        worker.join(wait)
        if not answer:
            raise OutboundError(f"cannot resolve {target.host}: timed out")
        found = answer[0]
        if isinstance(found, (OSError, UnicodeError)):
            raise OutboundError(f"cannot resolve {target.host}: {found}") from None
        if isinstance(found, BaseException):
            raise found
        return found

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
              signer: Signer | None, deadline: float) -> httpx.Response:
        target = parse_target(url)
        address = self._address(target, deadline)
        sent = {"Host": target.host_header, "User-Agent": USER_AGENT,
                "Accept-Encoding": "identity", **headers}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        if signer is not None:
            sent.update(signer(method, url, sent, body))
        tls = target.parts.scheme == "https"
        client = self._tls if tls else self._plain
        request = client.build_request(
            method, target.at(address), headers=sent, content=body,
            timeout=httpx.Timeout(_remaining(deadline, self.timeout)),
            extensions={"sni_hostname": target.host} if tls else None)
        try:
            return client.send(request, stream=True)
        except httpx.TimeoutException:
            raise OutboundError("timed out") from None
        except httpx.HTTPError as exc:
            raise OutboundError(f"connection failed: {exc}") from None

    def _finish(self, response: httpx.Response, url: str, cap: int, dest: Path | None,
                deadline: float) -> OutboundResponse:
        try:
            _check_headers(response, cap)
            to_file = dest is not None and 200 <= response.status_code < 300
            if to_file:
                assert dest is not None
                with dest.open("wb") as sink:
                    size = _stream(response, sink, cap, deadline)
                content = b""
            else:
                content = _read_all(response, cap, deadline)
                size = len(content)
        except BaseException:
            if dest is not None:
                dest.unlink(missing_ok=True)
            raise
        finally:
            response.close()
        log.info("outbound %s %s → %s (%d bytes)", response.request.method, url,
                 response.status_code, size)
        headers = {name.lower(): value for name, value in response.headers.items()}
        return OutboundResponse(response.status_code, headers, content, url, size)


def _remaining(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise OutboundError("timed out")
    return min(timeout, left)


def _check_headers(response: httpx.Response, cap: int) -> None:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise OutboundError(f"compressed response ({encoding}) not accepted")
    length = response.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > cap:
        raise OutboundError(f"response larger than {cap} bytes")


def _stream(response: httpx.Response, sink: BinaryIO, cap: int, deadline: float) -> int:
    size = 0
    try:
        for chunk in response.iter_raw():  # as received: a chunk size would wait to fill it
            size += len(chunk)
            if size > cap:
                raise OutboundError(f"response larger than {cap} bytes")
            if time.monotonic() > deadline:
                raise OutboundError("timed out")
            sink.write(chunk)
    except httpx.TimeoutException:
        raise OutboundError("timed out") from None
    except httpx.HTTPError as exc:
        raise OutboundError(f"connection failed: {exc}") from None
    return size


def _read_all(response: httpx.Response, cap: int, deadline: float) -> bytes:
    buffer = io.BytesIO()
    _stream(response, buffer, cap, deadline)
    return buffer.getvalue()


_clients: dict[tuple[Any, ...], OutboundClient] = {}
_clients_lock = threading.Lock()


def client_from_config(config: Mapping[str, Any]) -> OutboundClient:
    """The process's client for these settings (made once)."""
    key = (bool(config["FEDERATION_ALLOW_PRIVATE"]), float(config["HTTP_TIMEOUT_SECONDS"]),
           int(config["HTTP_MAX_RESPONSE_MB"]))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = OutboundClient(key[0], key[1], key[2] * 2**20)
        return client
