"""``salon search``: the search language from the command line.

Without ``--user`` it searches as an anonymous visitor of a public gallery
would (public pictures only, whatever the gallery setting), so a script
never prints private pictures by accident; ``--user U`` searches as U sees
the gallery (U's own pictures plus public ones).
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click
from flask import Flask

from app.db import Database
from app.errors import AppError
from app.queries.visibility import Viewer
from app.search.engine import run_search
from app.search.parser import QueryError


def _app() -> Flask:
    """The app given by the caller (tests pass ``obj=app``), else one from the environment."""
    obj = click.get_current_context().obj
    if isinstance(obj, Flask):
        return obj
    from app import create_app

    return create_app()


def _viewer(db: Database, username: str | None) -> Viewer:
    if username is None:
        return Viewer(None, public_gallery=True)
    row = db.one("SELECT id, role FROM users WHERE username = ?", (username,))
    if row is None:
        _fail(f"no user named {username!r}")
    return Viewer(int(row["id"]), row["role"] == "admin")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _show_error(query: str, error: QueryError) -> NoReturn:
    click.echo(f"error: {error.message} (column {error.position})", err=True)
    click.echo(f"  {query}", err=True)
    click.echo("  " + " " * (error.position - 1) + "^", err=True)
    sys.exit(2)


def _line(row: dict[str, Any]) -> str:
    title = row["title"] or row["file_name"]
    return (f"{row['id']:>8}  {row['created_at'][:10]}  {row['width']}x{row['height']:<6}"
            f" {row['visibility']:<8} {title}")


@click.command("search")
@click.argument("query")
@click.option("--user", "username", help="Search as this user sees the gallery.")
@click.option("--limit", type=click.IntRange(1, 1000), default=60, show_default=True)
@click.option("--cursor", help="next_cursor of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def search(query: str, username: str | None, limit: int, cursor: str | None,
           as_json: bool) -> None:
    """Search pictures with the gallery's query language (see /search/help)."""
    app = _app()
    db: Database = app.extensions["salon.db"]
    try:
        page = run_search(db, _viewer(db, username), query, cursor=cursor, limit=limit,
                          timeout_ms=app.config["QUERY_TIMEOUT_MS"])
    except QueryError as error:
        _show_error(query, error)
    except AppError as error:
        _fail(error.message)
    if as_json:
        click.echo(json.dumps({"results": page.items, "next_cursor": page.next_cursor,
                               "notes": list(page.notes)}))
        return
    for note in page.notes:
        click.echo(f"note: {note}", err=True)
    for row in page.items:
        click.echo(_line(row))
    if page.next_cursor is not None:
        click.echo(f"more: --cursor {page.next_cursor}", err=True)
