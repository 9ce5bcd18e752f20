"""HTML form fields generated from a tool's settings model (its JSON schema), and the
way back: a submitted form's values turned into the settings JSON.

Numbers get min/max/step (and a range slider when both bounds are known), Literal
enums become selects (numeric ones are submitted as numbers), booleans checkboxes,
colour strings (a colour word in the name, or a ``#rrggbb`` default) colour inputs
when their default is ``#rrggbb``, other strings text inputs; anything structured
(lists, nested objects) is a JSON text field. Help text is the field's
``description``. The tool page's script builds the same JSON in the browser;
the pipeline editor reads it on the server (``read_form``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.tools.base import Tool

COLOUR_WORDS = ("color", "colour")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SLIDER_STEPS = (1, 0.5, 0.1, 0.05, 0.01, 0.001)


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
    numeric_options: bool = False  # a select of numbers (``Literal[3, 5]``)

    @property
    def value(self) -> str:
        """The default as the input's initial value."""
        return display_value(self, self.default)

    @property
    def value_kind(self) -> str:
        """How the submitted text becomes JSON (the inputs' ``data-kind``)."""
        return "number" if self.kind == "select" and self.numeric_options else self.kind

    @property
    def slider(self) -> bool:
        """A number with both bounds gets a range slider next to its number box."""
        return self.kind == "number" and "min" in self.attrs and "max" in self.attrs

    @property
    def slider_step(self) -> float:
        """Whole steps for integers and wide ranges, else a round step of about 1/50 of
        the range (``step="any"`` would make the arrow keys jump by odd amounts)."""
        if self.attrs.get("step") == 1:
            return 1
        span = float(self.attrs["max"]) - float(self.attrs["min"])
        return next((step for step in SLIDER_STEPS if step <= span / 50), SLIDER_STEPS[-1])


def display_value(f: FormField, value: Any) -> str:
    """A settings value as an input's text (checkboxes use ``bool(value)`` instead)."""
    if value is None:
        return ""
    if f.kind == "json":
        return json.dumps(value)
    if f.kind == "color":
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and f.kind != "text":
        return str(int(value))
    return str(value)


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
        return "select", list(schema["enum"])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        return "number", _number_attrs(schema, kind == "integer")
    if kind == "boolean":
        return "checkbox", None
    if kind == "string":
        default = schema.get("default")
        colour = any(word in name.lower() for word in COLOUR_WORDS) or (
            isinstance(default, str) and bool(HEX_COLOUR.match(default)))
        return ("color" if colour else "text"), {"maxlength": schema.get("maxLength")}
    return "json", None


def _field(name: str, raw: dict[str, Any], required: bool,
           definitions: dict[str, Any]) -> FormField:
    plain, nullable = _plain(raw)
    default = raw.get("default")
    kind, extra = _kind(name, {"default": default, **plain}, definitions)
    if kind == "color" and not (isinstance(default, str) and HEX_COLOUR.match(default)):
        kind = "text"  # named colours or "transparent": a colour picker cannot show them
    if kind == "select":
        numeric = all(isinstance(option, int | float) and not isinstance(option, bool)
                      for option in extra)
        return FormField(name, label_of(name), kind, str(raw.get("description", "")),
                         default, required and not nullable,
                         tuple(str(option) for option in extra), numeric_options=numeric)
    attrs = {k: v for k, v in (extra or {}).items() if v is not None}
    return FormField(name, label_of(name), kind, str(raw.get("description", "")), default,
                     required and not nullable, (), attrs)


def form_fields(tool: Tool[Any]) -> list[FormField]:
    schema = tool.settings.model_json_schema()
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", []))
    return [_field(name, raw, name in required, definitions)
            for name, raw in schema.get("properties", {}).items()]


# -- from a submitted form back to settings ----------------------------------------------


def _number(text: str) -> Any:
    """``"12"`` → 12, ``"1.5"`` → 1.5; anything else stays text for the model to refuse."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def _parsed(f: FormField, text: str) -> Any:
    if f.value_kind == "number":
        return _number(text)
    if f.kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


@dataclass
class FormValues:
    """One tool's fields as submitted: the settings JSON, and what each input showed
    (to render the form again exactly as the user left it)."""

    settings: dict[str, Any]
    shown: dict[str, Any]


def read_form(fields: list[FormField], form: Mapping[str, Any], prefix: str = "") -> FormValues:
    """Settings from inputs named ``prefix + field name``. An empty input leaves the
    setting out (its default applies); an unchecked checkbox is ``false``."""
    settings: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    for f in fields:
        key = prefix + f.name
        if f.kind == "checkbox":
            settings[f.name] = shown[f.name] = key in form
            continue
        text = str(form.get(key, "")).strip()
        shown[f.name] = text
        if text:
            settings[f.name] = _parsed(f, text)
    return FormValues(settings, shown)


def shown_values(fields: list[FormField], settings: Mapping[str, Any]) -> dict[str, Any]:
    """What each input shows for saved settings (missing ones: the default)."""
    shown: dict[str, Any] = {}
    for f in fields:
        value = settings.get(f.name, f.default)
        shown[f.name] = bool(value) if f.kind == "checkbox" else display_value(f, value)
    return shown


# -- the pipeline editor: every step's fields in one form --------------------------------
#
# Steps are posted as ``steps-<n>-tool`` plus ``steps-<n>-<setting>``; the buttons post
# ``action`` = ``add`` (with ``add_tool``), ``up-<n>``, ``down-<n>``, ``remove-<n>`` or
# ``save``. Moving, adding and removing only re-render the form (nothing is stored
# until "Save"), so half-edited settings are never lost and never half saved.

STEP_LIMIT = 20


@dataclass
class StepForm:
    tool: Tool[Any]
    fields: list[FormField]
    shown: dict[str, Any]
    settings: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)  # "" for the step as a whole

    @property
    def field_errors(self) -> dict[str, str]:
        return {name: message for name, message in self.errors.items() if name}

    def as_json(self) -> dict[str, Any]:
        return {"tool": self.tool.id, "settings": self.settings}


def new_step(tool: Tool[Any]) -> StepForm:
    fields = form_fields(tool)
    return StepForm(tool, fields, shown_values(fields, {}), {})


def saved_steps(raw: list[dict[str, Any]], lookup: Any) -> list[StepForm]:
    """A stored pipeline's steps as forms (``lookup``: tool id → Tool or None)."""
    steps = []
    for item in raw:
        tool = lookup(str(item.get("tool", "")))
        if tool is None:
            continue  # a tool that no longer exists cannot be shown (nor run)
        fields = form_fields(tool)
        settings = dict(item.get("settings") or {})
        steps.append(StepForm(tool, fields, shown_values(fields, settings), settings))
    return steps


def posted_steps(form: Mapping[str, Any], lookup: Any) -> list[StepForm]:
    """The steps as the editor posted them; ``ValueError`` for a tool id that is unknown."""
    steps = []
    for number in range(STEP_LIMIT + 1):
        tool_id = form.get(f"steps-{number}-tool")
        if tool_id is None:
            break
        tool = lookup(str(tool_id))
        if tool is None:
            raise ValueError(f"Step {number + 1}: no tool named {tool_id!r}.")
        fields = form_fields(tool)
        values = read_form(fields, form, f"steps-{number}-")
        steps.append(StepForm(tool, fields, values.shown, values.settings))
    return steps


def move_step(steps: list[StepForm], action: str) -> int:
    """Apply ``up-<n>``, ``down-<n>`` or ``remove-<n>`` in place; returns the index to
    show next. ``ValueError`` for anything else."""
    verb, _, raw = action.partition("-")
    if verb not in ("up", "down", "remove") or not raw.isdigit() or int(raw) >= len(steps):
        raise ValueError(f"Unknown editor action {action!r}.")
    index = int(raw)
    if verb == "remove":
        steps.pop(index)
        return min(index, len(steps) - 1)
    other = index - 1 if verb == "up" else index + 1
    if 0 <= other < len(steps):
        steps[index], steps[other] = steps[other], steps[index]
        return other
    return index


def attach_errors(step: StepForm, fields: list[dict[str, str]]) -> None:
    """Put validation errors (``[{"field", "message"}]`` with fields named like ``width``,
    ``cells.0.x`` or ``settings``) next to the step's fields; the rest on the step."""
    known = {f.name for f in step.fields}
    for bad in fields:
        name = str(bad.get("field", "")).split(".", 1)[0]
        key = name if name in known else ""
        message = str(bad.get("message", "invalid"))
        if key == "" and name not in ("", "settings"):
            message = f"{bad['field']}: {message}"
        step.errors[key] = f"{step.errors[key]}; {message}" if key in step.errors else message


def settings_summary(tool: Tool[Any], settings: Mapping[str, Any]) -> str:
    """The settings that differ from the defaults, e.g. ``Width: 50, Fit: cover``."""
    parts = []
    for f in form_fields(tool):
        if f.name in settings and settings[f.name] != f.default:
            shown = settings[f.name]
            text = ("yes" if shown else "no") if f.kind == "checkbox" else display_value(f, shown)
            parts.append(f"{f.label}: {text}")
    return ", ".join(parts) or "default settings"
