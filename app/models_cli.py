"""``salon models``: install, check, choose and remove machine-learning models.

Nothing is ever downloaded implicitly (DESIGN §5); these commands are how an
admin brings models in, online (``pull``) or offline (``import``). Installing
a model wakes the jobs that were waiting for it. The work is done by
``ml.registry``; this module only talks to the admin.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask

from app.db import Database
from app.queries import models as model_queries
from app.queries.settings import get_setting
from ml import install, registry


def _app() -> Flask:
    """The app given by the caller (tests pass ``obj=app``), else one from the environment."""
    obj = click.get_current_context().obj
    if isinstance(obj, Flask):
        return obj
    from app import create_app

    return create_app()


def _context() -> tuple[Database, Path]:
    app = _app()
    db: Database = app.extensions["salon.db"]
    db.migrate()
    return db, Path(app.config["MODELS"])


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _size(size: int | None) -> str:
    if not size:
        return "?"
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{size / 2**20:.0f} MB"


@click.group()
def models() -> None:
    """Install, check and choose the models that tag, caption and rate pictures."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def list_models(as_json: bool) -> None:
    """Known and installed models: installed?, size, licence, in use, jobs waiting."""
    db, models_dir = _context()
    rows = model_queries.model_overview(db, models_dir)
    if as_json:
        click.echo(json.dumps({"models_dir": str(models_dir), "models": rows}))
        return
    click.echo(f"{'NAME':<26} {'TASK':<10} {'STATUS':<10} {'SIZE':>8}  {'LICENCE':<14} "
               f"{'IN USE':<6} WAITING")
    for row in rows:
        click.echo(_line(row))
        if not row["installed"]:
            alternative = f"   (offline: {row['import_command']})" if row["import_command"] else ""
            click.echo(f"    install: {row['install_command']}{alternative}")


def _line(row: dict[str, Any]) -> str:
    status = row["source"] if row["source"] == "bundled" else (
        "installed" if row["installed"] else "missing")
    licence = row["licence"] if len(row["licence"]) <= 14 else row["licence"][:13] + "…"
    return (f"{row['name']:<26} {row['task'] or '?':<10} {status:<10} {_size(row['size']):>8}"
            f"  {licence:<14} {'yes' if row['in_use'] else '':<6} {row['waiting']}")


def _installed(db: Database, models_dir: Path, model: registry.Installed) -> None:
    """Report an installation and wake the jobs that waited for it."""
    click.echo(f"installed {model.name} ({model.task}, {_size(model.size)}) in {model.path}")
    resumed = model_queries.resume_waiting(db, models_dir, model.name)
    if resumed:
        click.echo(f"{resumed} job(s) waiting for {model.name} queued again")


@models.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Download again even if it is installed.")
def pull(name: str, force: bool) -> None:
    """Download a known model from the Hugging Face hub, verify and install it."""
    db, models_dir = _context()
    try:
        model = install.pull(models_dir, name, progress=True, force=force)
    except registry.ModelError as error:
        _fail(error.message)
    _installed(db, models_dir, model)


@models.command("import")
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--custom", is_flag=True, help="Register a model Salon does not know.")
@click.option("--task", type=click.Choice(registry.CUSTOM_TASKS),
              help="What a --custom model does.")
def import_model(name: str, path: Path, custom: bool, task: str | None) -> None:
    """Install from a folder or archive (.zip, .tar.gz, .tgz) laid out like the model's
    Hugging Face repository, e.g. model.onnx + selected_tags.csv for a WD14 tagger."""
    if custom != (task is not None):
        _fail("--custom and --task go together: '--custom --task tagger|captioner|nsfw' "
              "registers a model Salon does not know.")
    db, models_dir = _context()
    try:
        model = install.import_model(models_dir, name, path, custom_task=task)
    except registry.ModelError as error:
        _fail(error.message)
    _installed(db, models_dir, model)


@models.command()
@click.argument("name")
def use(name: str) -> None:
    """Make an installed model the one its task (tagger, captioner, nsfw) runs with."""
    db, models_dir = _context()
    try:
        task, resumed = model_queries.use_model(db, models_dir, name)
    except registry.ModelError as error:
        _fail(error.message)
    click.echo(f"the {task} now uses {name}")
    if resumed:
        click.echo(f"{resumed} waiting job(s) queued again")


@models.command()
@click.argument("name", required=False)
def verify(name: str | None) -> None:
    """Check installed files against their manifest (all models, or NAME)."""
    _db, models_dir = _context()
    try:
        problems = install.verify(models_dir, name)
    except registry.ModelError as error:
        _fail(error.message)
    for problem in problems:
        click.echo(problem)
    if problems:
        _fail(f"{len(problems)} problem(s) found")
    checked = name or f"{len(registry.installed(models_dir))} installed model(s)"
    click.echo(f"{checked}: all files as installed")


@models.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove it even if a task uses it.")
def remove(name: str, force: bool) -> None:
    """Delete an installed model (not the one a task uses, unless --force)."""
    db, models_dir = _context()
    for task, key in model_queries.TASK_SETTINGS.items():
        if get_setting(db, key) == name and not force:
            _fail(f"{name} is the {task} in use; choose another with 'salon models use "
                  "OTHER' first, or pass --force (its jobs will then wait for a model).")
    try:
        install.remove(models_dir, name)
    except registry.ModelError as error:
        _fail(error.message)
    click.echo(f"removed {name}")
