"""Refuse SVG documents that could run code or reach outside themselves (not a tool itself).

An SVG is XML that a renderer will act on: a DOCTYPE can define entities
(billion laughs, external files), ``<script>`` and ``on*`` attributes run
code in browsers, ``href``/``xlink:href``, CSS ``url(...)`` and ``@import`` can
pull files or URLs, and ``<foreignObject>`` embeds HTML. The document is
parsed with defusedxml (DOCTYPE, entities and external references are
errors), then every element and attribute is checked; the caller rasterises
the re-serialised tree, so what was checked is exactly what is rendered.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from app.tools.base import ToolError

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
FORBIDDEN_ELEMENTS = {"script", "foreignobject", "handler", "listener"}
# A reference may point inside the document or carry an embedded raster picture.
SAFE_REFERENCE = re.compile(r"^\s*(#|data:image/(png|jpeg|jpg|gif|webp);)", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


class UnsafeSvg(ToolError):
    """The SVG contains something Salon will not render."""


def sanitised(data: bytes) -> bytes:
    """The document re-serialised after checking it, or ``UnsafeSvg`` naming the reason."""
    root = parse(data)
    if _local(root.tag) != "svg":
        raise UnsafeSvg(f"the file is XML but not an SVG (its root is <{_local(root.tag)}>)")
    for element in root.iter():
        check_element(element)
    return ET.tostring(root, encoding="utf-8")


def parse(data: bytes) -> ET.Element:
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise UnsafeSvg("the SVG declares a DOCTYPE or entities, which are not allowed")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeSvg(f"the SVG uses forbidden XML features ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        raise UnsafeSvg(f"the file is not well-formed SVG: {exc}") from exc


def check_element(element: ET.Element) -> None:
    name = _local(element.tag)
    if name.lower() in FORBIDDEN_ELEMENTS:
        raise UnsafeSvg(f"the SVG contains a <{name}> element, which is not allowed")
    if name == "style" and element.text:
        check_css(element.text, "<style>")
    for attribute, value in element.attrib.items():
        check_attribute(name, _local(attribute), value)


def check_attribute(element: str, attribute: str, value: str) -> None:
    where = f"<{element} {attribute}>"
    if attribute.lower().startswith("on"):
        raise UnsafeSvg(f"the SVG has an event handler attribute {where}, which is not allowed")
    if "javascript:" in re.sub(r"\s", "", value).lower():
        raise UnsafeSvg(f"the SVG has a javascript: URL in {where}")
    if attribute == "href" and not SAFE_REFERENCE.match(value):
        raise UnsafeSvg(f"the SVG refers to an external resource in {where}: "
                        f"{value[:80]!r}; only #fragments and embedded images are allowed")
    check_css(value, where)


def check_css(text: str, where: str) -> None:
    if "@import" in text.lower():
        raise UnsafeSvg(f"the SVG imports a style sheet in {where}")
    for target in CSS_URL.findall(text):
        if not SAFE_REFERENCE.match(target):
            raise UnsafeSvg(f"the SVG refers to an external resource in {where}: "
                            f"url({target[:80]})")


def _local(name: str) -> str:
    """``{namespace}tag`` → ``tag``."""
    return name.rsplit("}", 1)[-1]
