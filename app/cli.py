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


def _app() -> Flask:
    """The app given by the caller (tests pass ``obj=app``), else one from the environment."""
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Flask) else create_app()


def _db(app: Flask) -> Database:
    return app.extensions["salon.db"]


def initialise(app: Flask) -> list[str]:
    """Create folders, apply migrations; safe to run again."""
    app.extensions["salon.media"].ensure()
    return _db(app).migrate()


def _fail(error: AppError) -> NoReturn:
    click.echo(f"error: {error.message}", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """Salon: a self-hosted, federated AI image gallery."""


@main.command()
def init() -> None:
    """Create the database (apply migrations) and the media folders."""
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
def run() -> None:
    """Start Salon: initialise, then serve the web application."""
    from app.server import serve

    app = _app()
    initialise(app)
    serve(app)


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


@main.command()
def cleanup() -> None:
    """Remove media files that no live picture uses (after deletions)."""
    from app.media.library import remove_unreferenced_files

    app = _app()
    initialise(app)
    removed = remove_unreferenced_files(_db(app), app.extensions["salon.media"])
    click.echo(f"removed {removed} unreferenced file set(s)")




if __name__ == "__main__":
    main()
