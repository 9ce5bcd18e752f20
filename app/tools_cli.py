"""``salon tools ...`` and ``salon pipelines ...``: the image tools from the command line.

``tools run`` runs a tool inline on local files (the same checks as an upload: magic
bytes, size and pixel limits) and writes its outputs to ``-o``. ``pipelines run``
queues the batch like the web does, then claims and runs it in this process (a
worker that took it first is waited for). Problems are one line on stderr and exit
status 1.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask

from app.db import Database
from app.errors import AppError
from app.jobs.queue import Queue
from app.jobs.runner import Runner
from app.media.storage import MediaStore
from app.queries import tools as queries
from app.queries.visibility import Viewer
from app.tools import pipelines as pipeline_service
from app.tools.base import Tool, ToolContext, ToolResult
from app.tools.batch import zip_members, zip_stream
from app.tools.registry import (
    by_category,
    describe,
    disabled_tools,
    enabled_tool,
    enabled_tools,
    find_tool,
    parse_settings,
    set_disabled_tools,
)
from app.tools.runner import limits_of
from app.tools.service import Upload, receive, run_folder


def _app() -> Flask:
    obj = click.get_current_context().obj
    if isinstance(obj, Flask):
        return obj
    from app import create_app

    return create_app()


def _db(app: Flask) -> Database:
    db: Database = app.extensions["salon.db"]
    return db


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _explain(error: AppError) -> NoReturn:
    fields = error.details.get("fields") or []
    if fields:
        _fail(f"{error.message}: " + "; ".join(f"{f['field']}: {f['message']}" for f in fields))
    _fail(error.message)


def parse_assignments(pairs: tuple[str, ...], base: str | None) -> dict[str, Any]:
    """``--settings JSON`` then each ``--set key=value`` (value as JSON when it parses)."""
    try:
        settings = json.loads(base) if base else {}
    except ValueError as error:
        _fail(f"--settings is not valid JSON: {error}")
    if not isinstance(settings, dict):
        _fail("--settings must be a JSON object")
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--set takes key=value, got {pair!r}")
        try:
            settings[key.strip()] = json.loads(raw)
        except ValueError:
            settings[key.strip()] = raw
    return settings


# -- salon tools ----------------------------------------------------------------------


@click.group()
def tools() -> None:
    """The image tools: list them, run one on files, turn them off and on."""


@tools.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def tools_list(as_json: bool) -> None:
    """The enabled tools by category."""
    db = _db(_app())
    available = enabled_tools(db)
    if as_json:
        click.echo(json.dumps({"tools": [describe(tool) for tool in available]}, indent=1))
        return
    for _, title, group in by_category(available):
        click.echo(f"{title}:")
        for tool in group:
            flags = " [pipeline]" if tool.pipeline else ""
            click.echo(f"  {tool.id:<18} {tool.title}{flags}")
    off = disabled_tools(db)
    if off:
        click.echo(f"Disabled by the admin: {', '.join(sorted(off))}")


@tools.command("disable")
@click.argument("tool_ids", nargs=-1, required=True)
def tools_disable(tool_ids: tuple[str, ...]) -> None:
    """Turn tools off here: hidden on the pages, refused by the API, CLI and pipelines."""
    _change_disabled(tool_ids, off=True)


@tools.command("enable")
@click.argument("tool_ids", nargs=-1, required=True)
def tools_enable(tool_ids: tuple[str, ...]) -> None:
    """Turn disabled tools back on."""
    _change_disabled(tool_ids, off=False)


def _change_disabled(tool_ids: tuple[str, ...], off: bool) -> None:
    db = _db(_app())
    try:
        named = {find_tool(tool_id).id for tool_id in tool_ids}  # aliases resolve
    except AppError as error:
        _explain(error)
    current = disabled_tools(db)
    with db.transaction():
        chosen = set_disabled_tools(db, sorted(current | named if off else current - named))
    click.echo(f"disabled: {', '.join(chosen) or 'none'}")


@tools.command("run")
@click.argument("tool_id")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False,
                                                   path_type=Path))
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="One setting (repeatable); the value is read as JSON when it can be.")
@click.option("--settings", "base", default=None, metavar="JSON", help="All settings at once.")
@click.option("--extra", "extras", multiple=True, metavar="NAME=FILE",
              help="A named extra input, e.g. --extra overlay=logo.png.")
@click.option("-o", "--output", "out", default=None, type=click.Path(path_type=Path),
              help="Output file, or a folder when the tool writes several files "
                   "(not needed by tools that only answer with data, such as info).")
def tools_run(tool_id: str, files: tuple[Path, ...], pairs: tuple[str, ...], base: str | None,
              extras: tuple[str, ...], out: Path | None) -> None:
    """Run TOOL_ID on FILE... here and now; write the outputs to -o."""
    app = _app()
    settings = parse_assignments(pairs, base)
    with tempfile.TemporaryDirectory(prefix="salon-tool-") as folder:
        try:
            tool = enabled_tool(_db(app), tool_id)
            parsed = parse_settings(tool, settings)
            result = _run_inline(app, tool, parsed, files, _extras(extras), Path(folder))
        except AppError as error:
            _explain(error)
        _write_outputs(result, out)
    if result.data:
        click.echo(json.dumps(result.data, indent=1, default=str))


def _extras(pairs: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not Path(path).is_file():
            _fail(f"--extra takes NAME=FILE with an existing file, got {pair!r}")
        found[name] = Path(path)
    return found


def _run_inline(app: Flask, tool: Tool[Any], settings: Any, files: tuple[Path, ...],
                extras: dict[str, Path], folder: Path) -> ToolResult:
    spec, limits = tool.inputs, limits_of(app.config)
    if not spec.min_files <= len(files) <= spec.max_files:
        _fail(f"{tool.id} takes {spec.min_files} to {spec.max_files} file(s); got {len(files)}")
    missing = [name for name in spec.extra if name not in extras]
    if missing:
        _fail(f"{tool.id} also needs --extra {missing[0]}=FILE")
    inputs_dir, work = folder / "input", folder / "output"
    inputs_dir.mkdir()
    work.mkdir()
    staged = []
    for index, path in enumerate(files):
        with path.open("rb") as stream:
            staged.append(receive(inputs_dir, str(index), Upload(path.name, stream),
                                  spec.accepts, limits).as_input(inputs_dir))
    extra = {}
    for index, name in enumerate(spec.extra):
        with extras[name].open("rb") as stream:
            extra[name] = receive(inputs_dir, f"extra-{index}", Upload(extras[name].name, stream),
                                  ("image",), limits).as_input(inputs_dir)
    context = ToolContext(staged, extra, work, app.config["MAX_PIXELS"])
    return tool.process(context, settings)


def _write_outputs(result: ToolResult, out: Path | None) -> None:
    if not result.files:
        return
    if out is None:
        names = ", ".join(output.name for output in result.files)
        if result.illustrative:
            click.echo(f"(also drew {names}; give -o FILE to keep it)", err=True)
            return
        _fail(f"this run wrote {names}: give -o FILE (or -o FOLDER/) to keep it")
    if len(result.files) == 1 and not out.is_dir() and not str(out).endswith("/"):
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.files[0].path, out)
        click.echo(f"wrote {out}", err=True)
        return
    out.mkdir(parents=True, exist_ok=True)
    for output in result.files:
        shutil.copyfile(output.path, out / output.name)
        click.echo(f"wrote {out / output.name}", err=True)


# -- salon pipelines ------------------------------------------------------------------


def _viewer(db: Database, username: str) -> Viewer:
    row = db.one("SELECT id, role FROM users WHERE username = ?", (username,))
    if row is None:
        _fail(f"no user named {username!r}")
    return Viewer(int(row["id"]), row["role"] == "admin")


@click.group()
def pipelines() -> None:
    """Saved sequences of tools: list, create, run, delete."""


USER = click.option("--user", "username", required=True, help="Whose pipelines.")


@pipelines.command("list")
@USER
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def pipelines_list(username: str, as_json: bool) -> None:
    """USER's pipelines with their steps."""
    db = _db(_app())
    rows = [queries.pipeline_json(row)
            for row in queries.list_pipelines(db, _viewer(db, username).user_id or 0)]
    if as_json:
        click.echo(json.dumps({"pipelines": rows}, indent=1))
        return
    for row in rows:
        steps = " → ".join(step["tool"] for step in row["steps"])
        click.echo(f"{row['id']:>5}  {row['name']:<24} {steps}")


@pipelines.command("create")
@click.argument("name")
@USER
@click.option("--step", "steps", multiple=True, required=True, metavar="TOOL:JSON",
              help="A step: a tool id, optionally ':' and its settings as JSON (repeatable).")
@click.option("--description", default="")
def pipelines_create(name: str, username: str, steps: tuple[str, ...], description: str) -> None:
    """Save a pipeline NAME of the given steps (every step is checked first)."""
    db = _db(_app())
    body = {"name": name, "description": description, "steps": [_step(s) for s in steps]}
    try:
        row = pipeline_service.save_pipeline(db, _viewer(db, username).user_id or 0, body)
    except AppError as error:
        _explain(error)
    click.echo(f"saved pipeline {row['id']} {row['name']!r}")


@pipelines.command("delete")
@click.argument("name")
@USER
def pipelines_delete(name: str, username: str) -> None:
    """Delete USER's pipeline NAME (runs already made keep their results)."""
    db = _db(_app())
    owner = _viewer(db, username).user_id or 0
    try:
        row = pipeline_service.pipeline_named(db, name, owner)
    except AppError as error:
        _explain(error)
    queries.delete_pipeline(db, int(row["id"]), owner)
    click.echo(f"deleted pipeline {row['id']} {row['name']!r}")


def _step(text: str) -> dict[str, Any]:
    tool_id, sep, raw = text.partition(":")
    try:
        settings = json.loads(raw) if sep and raw.strip() else {}
    except ValueError as error:
        _fail(f"the settings of step {tool_id!r} are not valid JSON: {error}")
    return {"tool": tool_id.strip(), "settings": settings}


@pipelines.command("run")
@click.argument("name")
@USER
@click.option("--image", "image_ids", multiple=True, type=int, help="A picture id (repeatable).")
@click.option("--query", default=None, help="Run on this search, as USER sees it.")
@click.option("--zip", "zip_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the results to this ZIP instead of new versions.")
def pipelines_run(name: str, username: str, image_ids: tuple[int, ...], query: str | None,
                  zip_path: Path | None) -> None:
    """Run pipeline NAME on pictures (--image ...) or a search (--query)."""
    if bool(image_ids) == (query is not None):
        _fail("give --image ID (repeatable) or --query Q")
    app = _app()
    db = _db(app)
    viewer = _viewer(db, username)
    selection = pipeline_service.Selection(tuple(image_ids), query)
    try:
        row = pipeline_service.pipeline_named(db, name, viewer.user_id or 0)
        job_id = pipeline_service.start_pipeline_run(
            db, app.extensions["salon.media"], viewer, row, selection,
            "zip" if zip_path else "version", app.config, priority=1000)
    except AppError as error:
        _explain(error)
    state = _run_job(app, job_id)
    _report(db, job_id, viewer, state, zip_path, app.extensions["salon.media"])


def _run_job(app: Flask, job_id: int) -> str:
    """Claim and run our job here (queued at top priority); if a worker claimed it first,
    wait for that worker to finish it."""
    queue = Queue(_db(app))
    owner = f"cli-{job_id}"
    runner = Runner(queue, app.extensions["salon.media"], dict(app.config), owner,
                    kinds=["pipeline.run"])
    job = queue.claim(owner, kinds=["pipeline.run"])
    if job is not None and job.id == job_id:
        runner.execute(job)
    elif job is not None:
        queue.release(owner, "claimed by the command line by mistake", count_attempt=False)
    while (state := _db(app).value("SELECT state FROM jobs WHERE id = ?", (job_id,))) in (
            "queued", "running", "blocked"):
        time.sleep(0.5)
    return str(state)


def _report(db: Database, job_id: int, viewer: Viewer, state: str, zip_path: Path | None,
            store: MediaStore) -> None:
    run = queries.run_of_job(db, job_id, viewer.user_id or 0)
    assert run is not None
    for item in queries.items(db, run["id"]):
        detail = item["error"] or (f"new picture {item['output_image_id']}"
                                   if item["output_image_id"] else item["output_name"])
        click.echo(f"  picture {item['image_id']}: {item['state']} {detail or ''}".rstrip())
    if state != "succeeded":
        _fail(f"the run {state}: {run['error'] or ''}".strip())
    if zip_path is not None:
        names = [item["output_name"] for item in queries.items(db, run["id"])
                 if item["output_name"]]
        with zip_path.open("wb") as out:
            for chunk in zip_stream(zip_members(run_folder(store, run["id"]), names)):
                out.write(chunk)
        click.echo(f"wrote {zip_path}")
