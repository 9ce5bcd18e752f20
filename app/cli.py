"""The ``salon`` command. One click group; verbs in kebab-case; help from docstrings."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click
from flask import Flask

from app import create_app
from app.db import Database
from app.errors import AppError
from app.federation_cli import federation_group, peers_group
from app.models_cli import models
from app.organise_cli import collections_group, tags
from app.search_cli import search
from app.tools_cli import pipelines, tools


def _app() -> Flask:
    """The app given by the caller (tests pass ``obj=app``), else one from the environment."""
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Flask) else create_app()


def _db(app: Flask) -> Database:
    return app.extensions["salon.db"]


def initialise(app: Flask) -> list[str]:
    """Create folders, apply migrations, make the federation key pair; safe to run again."""
    from app.federation.identity import ensure_identity

    app.extensions["salon.media"].ensure()
    ensure_identity(app.config["INSTANCE"])
    return _db(app).migrate()


def _fail(error: AppError) -> NoReturn:
    click.echo(f"error: {error.message}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """Salon: a self-hosted, federated AI image gallery."""


@main.command()
def init() -> None:
    """Create the database (apply migrations), the media folders and the federation keys."""
    app = _app()
    applied = initialise(app)
    click.echo(f"database {app.config['DATABASE']}: "
               + (f"applied {', '.join(applied)}" if applied else "up to date"))


@main.command()
def web() -> None:
    """Serve the web application with gunicorn (one process, many threads)."""
    from app.server import serve

    app = _app()
    initialise(app)
    serve(app)


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: SALON_WORKER_CONCURRENCY).")
@click.option("--kinds", default="", help="Only these job kinds, comma-separated.")
def worker(concurrency: int | None, kinds: str) -> None:
    """Run background jobs: a supervisor over worker processes."""
    from app.jobs.supervisor import Supervisor, install_signal_handlers
    from app.logs import configure

    app = _app()
    initialise(app)
    configure(app.config["LOG_LEVEL"])
    supervisor = Supervisor(dict(app.config),
                            concurrency or app.config["WORKER_CONCURRENCY"],
                            [kind for kind in kinds.split(",") if kind])
    install_signal_handlers(supervisor)
    supervisor.run()


@main.command()
def run() -> None:
    """Start Salon: the web application and one worker, restarted if it dies."""
    from app.launcher import serve_with_worker

    app = _app()
    initialise(app)
    serve_with_worker(app)


def _create(username: str, password: str, role: str) -> None:
    from app.auth.accounts import create_user

    app = _app()
    initialise(app)
    try:
        user_id = create_user(_db(app), username, password, role=role)
    except AppError as error:
        _fail(error)
    click.echo(f"created {role} {username!r} (id {user_id})")


@main.command("create-admin")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
def create_admin(username: str, password: str) -> None:
    """Create an admin account (for scripts: no prompt)."""
    _create(username, password, "admin")


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
def create_user_command(username: str, password: str) -> None:
    """Create a normal account (for scripts: no prompt)."""
    _create(username, password, "user")


@main.group("api-key")
def api_key() -> None:
    """Manage API keys (used as 'Authorization: Bearer <key>')."""


def _user_id(app: Flask, username: str) -> int:
    from app.queries.users import get_user_with_hash

    row = get_user_with_hash(_db(app), username)
    if row is None:
        _fail(AppError(f"no user named {username!r}"))
    assert row is not None
    return int(row["id"])


@api_key.command("create")
@click.option("--user", "username", required=True)
@click.option("--name", required=True, help="A label, e.g. the script that uses it.")
def api_key_create(username: str, name: str) -> None:
    """Create a key and print it once; only its hash is kept."""
    from app.auth.api_keys import create_api_key

    app = _app()
    initialise(app)
    try:
        click.echo(create_api_key(_db(app), _user_id(app, username), name))
    except AppError as error:
        _fail(error)


@api_key.command("list")
@click.option("--user", "username", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def api_key_list(username: str, as_json: bool) -> None:
    """List a user's keys (prefix, name, dates; never the key)."""
    from app.queries.api_keys import list_api_keys

    app = _app()
    keys = list_api_keys(_db(app), _user_id(app, username))
    if as_json:
        click.echo(json.dumps(keys))
        return
    for key in keys:
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
        click.echo(f"{key['id']:>4}  {key['prefix']}…  {key['name']:<24} {state}")


@api_key.command("revoke")
@click.option("--user", "username", required=True)
@click.argument("key_id", type=int)
def api_key_revoke(username: str, key_id: int) -> None:
    """Revoke a key by its id (see 'api-key list')."""
    from app.queries.api_keys import revoke_api_key

    app = _app()
    db = _db(app)
    with db.transaction():
        revoked = revoke_api_key(db, _user_id(app, username), key_id)
    if not revoked:
        _fail(AppError(f"no active key {key_id} for {username!r}"))
    click.echo(f"revoked key {key_id}")


@main.group()
def jobs() -> None:
    """Inspect and control background jobs."""


@jobs.command("list")
@click.option("--state", type=click.Choice(["queued", "running", "succeeded", "failed",
                                            "cancelled", "blocked"]))
@click.option("--kind")
@click.option("--limit", type=click.IntRange(1, 1000), default=50)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def jobs_list(state: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """List jobs, newest first, with counts by kind and state."""
    from app.queries import jobs as job_queries
    from app.queries.visibility import Viewer

    db = _db(_app())
    rows = job_queries.list_jobs(db, Viewer(None, is_admin=True), state=state, kind=kind,
                                 limit=limit)
    if as_json:
        click.echo(json.dumps({"counts": job_queries.counts(db),
                               "jobs": [job_queries.job_json(row) for row in rows]}))
        return
    for row in rows:
        detail = row["error"] or row["message"] or ""
        click.echo(f"{row['id']:>7}  {row['kind']:<28} {row['state']:<10} "
                   f"{row['progress']:>4.0%}  {detail[:80]}")


def _job_action(action: str, job_id: int) -> None:
    from app.jobs import control
    from app.queries.visibility import Viewer

    try:
        getattr(control, action)(_db(_app()), job_id, Viewer(None, is_admin=True))
    except AppError as error:
        _fail(error)
    click.echo(f"job {job_id}: {action} done")


@jobs.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Queue a failed or cancelled job again."""
    _job_action("retry", job_id)


@jobs.command("cancel")
@click.argument("job_id", type=int)
def jobs_cancel(job_id: int) -> None:
    """Cancel a queued, blocked or running job."""
    _job_action("cancel", job_id)


@jobs.command("configure")
@click.argument("kind")
@click.option("--concurrency", help="Most jobs of this kind at once; 'none' for no limit.")
@click.option("--pause/--resume", default=None, help="Stop or restart claiming this kind.")
def jobs_configure(kind: str, concurrency: str | None, pause: bool | None) -> None:
    """Change a job kind's concurrency or pause it, without restarting workers."""
    from app.jobs import control

    values: dict[str, object] = {}
    if concurrency is not None:
        values["concurrency"] = None if concurrency == "none" else concurrency
    if pause is not None:
        values["paused"] = pause
    try:
        control.configure_kind(_db(_app()), kind, values)
    except AppError as error:
        _fail(error)
    click.echo(f"{kind}: updated")


@jobs.command("enqueue")
@click.argument("kind")
@click.option("--payload", default="{}", help="JSON payload.")
def jobs_enqueue(kind: str, payload: str) -> None:
    """Queue a job by hand (e.g. 'sleep' with '{"seconds": 5}' to watch progress)."""
    from app.jobs.queue import Queue
    from app.jobs.registry import get_kind, load_handlers

    app = _app()
    load_handlers(app.config["JOB_MODULES"])
    if get_kind(kind) is None:
        _fail(AppError(f"no job kind {kind!r}"))
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as error:
        _fail(AppError(f"--payload is not JSON: {error}"))
    click.echo(Queue(_db(app)).enqueue(kind, data))


@main.command()
@click.option("--query", "-q", default="", help="Only pictures matching this search.")
@click.option("--user", "username", help="Only this user's pictures.")
@click.option("--all", "everything", is_flag=True, help="Every picture (needed without -q).")
def reanalyze(query: str, username: str | None, everything: bool) -> None:
    """Queue a fresh analysis (all steps) of the pictures a search selects."""
    from app.analysis.service import enqueue_analysis, pictures_matching
    from app.queries.users import list_users

    app = _app()
    if not query.strip() and not everything and username is None:
        _fail(AppError("say which pictures: --query Q, --user U or --all"))
    owners = [_user_id(app, username)] if username else [
        row["id"] for row in list_users(_db(app))]
    try:
        selected = pictures_matching(_db(app), query, owners)
    except AppError as error:
        _fail(error)
    for image_id, owner in selected:
        enqueue_analysis(_db(app), image_id, owner, force=True)
    click.echo(f"queued analysis of {len(selected)} picture(s)")


@main.command()
def cleanup() -> None:
    """Remove media files that no live picture uses (after deletions)."""
    from app.media.library import remove_unreferenced_files

    app = _app()
    initialise(app)
    removed = remove_unreferenced_files(_db(app), app.extensions["salon.media"])
    click.echo(f"removed {removed} unreferenced file set(s)")




main.add_command(models)
main.add_command(search)
main.add_command(tags)
main.add_command(collections_group)
main.add_command(peers_group)
main.add_command(federation_group)
main.add_command(tools)
main.add_command(pipelines)


if __name__ == "__main__":
    main()
