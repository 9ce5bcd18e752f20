"""HTML form fields generated from a tool's settings model (its JSON schema).

Numbers get min/max/step, Literal enums become selects, booleans checkboxes,
colour strings colour inputs, other strings text inputs; anything structured
(lists, nested objects) is a JSON text field. Help text is the field's
``description``. The page's script turns the form back into the settings JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.tools.base import Tool

COLOUR_WORDS = ("color", "colour")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # number | select | checkbox | color | text | json
    help: str = ""
    default: Any = None
    required: bool = False
    options: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> str:
        """The default as the input's initial value."""
        if self.default is None:
            return ""
        if self.kind == "json":
            return json.dumps(self.default)
        if self.kind == "color":
            return str(self.default).lower()
        return str(self.default)


def label_of(name: str) -> str:
    """``withoutEnlargement`` → ``Without enlargement``."""
    words, current = [], ""
    for char in name.replace("_", " "):
        if char.isupper() and current and not current[-1].isupper():
            words.append(current)
            current = char.lower()
        else:
            current += char
    words.append(current)
    text = " ".join(word.strip() for word in words if word.strip())
    return text[:1].upper() + text[1:]


def _plain(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The non-null branch of ``X | None`` and whether None is allowed."""
    options = schema.get("anyOf")
    if not options:
        return schema, False
    real = [option for option in options if option.get("type") != "null"]
    nullable = len(real) < len(options)
    return (real[0] if len(real) == 1 else {"type": "json"}), nullable


def _number_attrs(schema: dict[str, Any], integer: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {"step": 1 if integer else "any"}
    for key, attr in (("minimum", "min"), ("maximum", "max"),
                      ("exclusiveMinimum", "min"), ("exclusiveMaximum", "max")):
        if key in schema:
            attrs[attr] = schema[key]
    return attrs


def _kind(name: str, schema: dict[str, Any], definitions: dict[str, Any]) -> tuple[str, Any]:
    if "$ref" in schema:
        schema = definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "enum" in schema:
        return "select", tuple(str(option) for option in schema["enum"])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        return "number", _number_attrs(schema, kind == "integer")
    if kind == "boolean":
        return "checkbox", None
    if kind == "string":
        colour = any(word in name.lower() for word in COLOUR_WORDS)
        return ("color" if colour else "text"), {"maxlength": schema.get("maxLength")}
    return "json", None


def form_fields(tool: Tool[Any]) -> list[FormField]:
    schema = tool.settings.model_json_schema()
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = []
    for name, raw in schema.get("properties", {}).items():
        plain, nullable = _plain(raw)
        kind, extra = _kind(name, plain, definitions)
        options = extra if kind == "select" else ()
        attrs = {k: v for k, v in (extra or {}).items() if v is not None} \
            if isinstance(extra, dict) else {}
        default = raw.get("default")
        if kind == "color" and not (isinstance(default, str) and HEX_COLOUR.match(default)):
            kind = "text"  # named colours or "transparent": a colour picker cannot show them
        fields.append(FormField(name, label_of(name), kind, str(raw.get("description", "")),
                                default,
                                name in required and not nullable, options, attrs))
    return fields
