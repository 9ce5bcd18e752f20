"""The part of RFC 8941 Structured Field Values that HTTP signatures use.

``parse_dictionary`` reads ``Signature-Input`` / ``Signature`` /
``Content-Digest`` fields; ``serialize_inner_list`` writes the canonical form
that becomes the ``@signature-params`` line of a signature base. Strict: any
syntax error raises ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from dataclasses import dataclass, field

BareItem = int | float | str | bytes | bool

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
_BASE64 = set(string.ascii_letters + string.digits + "+/=")


class Token(str):
    """An sf-token (serialized bare), as opposed to an sf-string (quoted)."""


@dataclass
class Item:
    value: BareItem
    params: dict[str, BareItem] = field(default_factory=dict)


@dataclass
class InnerList:
    items: list[Item]
    params: dict[str, BareItem] = field(default_factory=dict)


Member = Item | InnerList


class _Reader:
    def __init__(self, text: str) -> None:
        if not text.isascii():
            raise ValueError("structured fields are ASCII")
        self.text, self.pos = text, 0

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.pos}")
        self.pos += 1

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def match(self, pattern: re.Pattern[str]) -> str:
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise ValueError(f"unexpected {self.peek()!r} at {self.pos}")
        self.pos = found.end()
        return found.group(0)


def parse_dictionary(text: str) -> dict[str, Member]:
    reader = _Reader(text)
    reader.skip(" ")
    members: dict[str, Member] = {}
    while reader.peek():
        key = reader.match(_KEY)
        if reader.peek() == "=":
            reader.take("=")
            members[key] = _member(reader)
        else:
            members[key] = Item(True, _params(reader))
        reader.skip(" \t")
        if not reader.peek():
            break
        reader.take(",")
        reader.skip(" \t")
        if not reader.peek():
            raise ValueError("trailing comma")
    return members


def _member(reader: _Reader) -> Member:
    if reader.peek() != "(":
        return Item(_bare(reader), _params(reader))
    reader.take("(")
    items: list[Item] = []
    while True:
        reader.skip(" ")
        if reader.peek() == ")":
            reader.take(")")
            return InnerList(items, _params(reader))
        items.append(Item(_bare(reader), _params(reader)))
        if reader.peek() not in (" ", ")"):
            raise ValueError(f"bad inner list at {reader.pos}")


def _params(reader: _Reader) -> dict[str, BareItem]:
    params: dict[str, BareItem] = {}
    while reader.peek() == ";":
        reader.take(";")
        reader.skip(" ")
        key = reader.match(_KEY)
        value: BareItem = True
        if reader.peek() == "=":
            reader.take("=")
            value = _bare(reader)
        params[key] = value
    return params


def _bare(reader: _Reader) -> BareItem:
    char = reader.peek()
    if char == '"':
        return _string(reader)
    if char == ":":
        return _bytes(reader)
    if char == "?":
        reader.take("?")
        flag = reader.peek()
        reader.take(flag if flag in ("0", "1") else "1")
        return flag == "1"
    if char == "-" or char.isdigit():
        number = reader.match(_NUMBER)
        return float(number) if "." in number else int(number)
    return Token(reader.match(_TOKEN))


def _string(reader: _Reader) -> str:
    reader.take('"')
    out: list[str] = []
    while True:
        char = reader.peek()
        if not char:
            raise ValueError("unterminated string")
        reader.pos += 1
        if char == '"':
            return "".join(out)
        if char == "\\":
            char = reader.peek()
            if char not in ('"', "\\"):
                raise ValueError("bad escape in string")
            reader.pos += 1
        elif not " " <= char <= "~":
            raise ValueError("control character in string")
        out.append(char)


def _bytes(reader: _Reader) -> bytes:
    reader.take(":")
    end = reader.text.find(":", reader.pos)
    if end < 0:
        raise ValueError("unterminated byte sequence")
    encoded = reader.text[reader.pos:end]
    reader.pos = end + 1
    if not set(encoded) <= _BASE64:
        raise ValueError("bad base64 in byte sequence")
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64 in byte sequence: {exc}") from exc


def serialize_bare(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.1f}"
    if isinstance(value, bytes):
        return f":{base64.b64encode(value).decode('ascii')}:"
    if isinstance(value, Token):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def serialize_params(params: dict[str, BareItem]) -> str:
    return "".join(f";{key}" if value is True else f";{key}={serialize_bare(value)}"
                   for key, value in params.items())


def serialize_inner_list(inner: InnerList) -> str:
    items = " ".join(serialize_bare(item.value) + serialize_params(item.params)
                     for item in inner.items)
    return f"({items}){serialize_params(inner.params)}"
