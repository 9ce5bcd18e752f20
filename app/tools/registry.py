"""What the rest of Salon asks of the tool registry: which tools exist and are enabled,
and how each one is described (the settings' JSON schema comes from its pydantic model).

The admin's ``disabled_tools`` setting is checked here, in one place, by the API,
the pages, the CLI, pipelines and the job that runs a tool.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.db import Database
from app.errors import AppError, BadRequest, NotFound
from app.queries.settings import get_setting, set_setting
from app.tools.base import CATEGORIES, Tool, all_tools, get_tool


class ToolDisabled(AppError):
    """The admin has turned this tool off (403)."""

    status = 403


def disabled_tools(db: Database) -> set[str]:
    value = get_setting(db, "disabled_tools")
    return {str(item) for item in value} if isinstance(value, list) else set()


def set_disabled_tools(db: Database, tool_ids: list[str]) -> list[str]:
    known = {tool.id for tool in all_tools()}
    unknown = sorted(set(tool_ids) - known)
    if unknown:
        raise BadRequest(f"Unknown tools: {', '.join(unknown)}.", field="disabled_tools")
    chosen = sorted(set(tool_ids))
    set_setting(db, "disabled_tools", chosen)
    return chosen


def find_tool(tool_id: str) -> Tool[Any]:
    tool = get_tool(tool_id)
    if tool is None:
        raise NotFound(f"No tool named {tool_id!r}.", tool=tool_id)
    return tool


def enabled_tool(db: Database, tool_id: str) -> Tool[Any]:
    """The tool with this id or alias; 404 if unknown, 403 if the admin disabled it."""
    tool = find_tool(tool_id)
    if tool.id in disabled_tools(db):
        raise ToolDisabled(f"The tool {tool.id!r} is disabled on this instance.", tool=tool.id)
    return tool


def enabled_tools(db: Database) -> list[Tool[Any]]:
    off = disabled_tools(db)
    return [tool for tool in all_tools() if tool.id not in off]


def by_category(tools: list[Tool[Any]]) -> list[tuple[str, str, list[Tool[Any]]]]:
    """[(category id, title, tools)] in the registry's order, empty categories left out."""
    grouped = [(cid, title, [t for t in tools if t.category == cid]) for cid, title in CATEGORIES]
    return [group for group in grouped if group[2]]


def settings_schema(tool: Tool[Any]) -> dict[str, Any]:
    return tool.settings.model_json_schema()


def describe(tool: Tool[Any], *, full: bool = True) -> dict[str, Any]:
    """The API and ``salon tools list --json`` shape of one tool."""
    data: dict[str, Any] = {
        "id": tool.id, "title": tool.title, "category": tool.category,
        "description": tool.description.strip(), "pipeline": tool.pipeline, "cheap": tool.cheap,
        "aliases": list(tool.aliases),
        "inputs": {"min_files": tool.inputs.min_files, "max_files": tool.inputs.max_files,
                   "extra": list(tool.inputs.extra), "accepts": list(tool.inputs.accepts)},
    }
    if full:
        data["settings"] = settings_schema(tool)
    return data


class InvalidSettings(BadRequest):
    """400 ``{"error": "invalid settings", "fields": [{"field", "message"}]}``."""


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    fields = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        fields.append({"field": location or "settings", "message": message})
    return fields


def parse_settings(tool: Tool[Any], raw: Any) -> Any:
    """Validated settings for ``tool``; ``InvalidSettings`` naming every bad field."""
    if raw is not None and not isinstance(raw, dict):
        raise InvalidSettings("invalid settings", fields=[
            {"field": "settings", "message": "settings must be a JSON object"}])
    try:
        return tool.parse_settings(raw)
    except ValidationError as error:
        raise InvalidSettings("invalid settings", fields=field_errors(error)) from None


def settings_json(settings: Any) -> dict[str, Any]:
    """Settings as stored with a run or a version (only what differs is not enough:
    store everything, so a version says exactly how it was made)."""
    return dict(settings.model_dump(mode="json"))
