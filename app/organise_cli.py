"""``salon tags ...`` and ``salon collections ...``: organising from the command line.

Kept apart from ``app/cli.py`` so that module only gains two ``add_command``
lines; the app comes from the click context as in every other command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from app.db import Database
from app.errors import AppError


def _db() -> Database:
    """The test app's database (``obj=app``), else one from the environment."""
    obj = click.get_current_context().obj
    if not isinstance(obj, Flask):
        from app import create_app

        obj = create_app()
    return obj.extensions["salon.db"]


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except AppError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(2)


@click.group()
def tags() -> None:
    """List and change tags: rename, merge, aliases, implications, delete."""


@tags.command("list")
@click.option("--prefix", default="", help="Only tags starting with this.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def tags_list(prefix: str, limit: int, as_json: bool) -> None:
    """Tags, most used first, with their aliases and implications."""
    from app.queries.tag_admin import list_tags
    from app.tagging import normalise

    db = _db()
    start = _run(lambda: normalise(prefix)) if prefix.strip() else ""
    rows = list_tags(db, start, limit)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        extra = f"  = {row['aliases']}" if row["aliases"] else ""
        extra += f"  -> {row['implies']}" if row["implies"] else ""
        click.echo(f"{row['count']:>7}  {row['category']:<10} {row['name']}{extra}")


def _tag_command(action: str, first: str, second: str, done: str) -> None:
    from app.tag_admin import run_action

    _run(lambda: run_action(_db(), action, first, second))
    click.echo(done)


@tags.command("rename")
@click.argument("old")
@click.argument("new")
def tags_rename(old: str, new: str) -> None:
    """Rename tag OLD to NEW (merges if NEW exists; OLD stays as an alias)."""
    _tag_command("rename", old, new, f"renamed {old!r} to {new!r}")


@tags.command("merge")
@click.argument("source")
@click.argument("target")
def tags_merge(source: str, target: str) -> None:
    """Move SOURCE's pictures to TARGET; SOURCE becomes an alias of TARGET."""
    _tag_command("merge", source, target, f"merged {source!r} into {target!r}")


@tags.command("alias")
@click.argument("alias")
@click.argument("target")
@click.option("--remove", is_flag=True, help="Remove the alias instead.")
def tags_alias(alias: str, target: str, remove: bool) -> None:
    """ALIAS means TARGET when tagging and searching."""
    action = "unalias" if remove else "alias"
    _tag_command(action, target, alias,
                 f"{'removed alias' if remove else 'alias'} {alias!r} -> {target!r}")


@tags.command("imply")
@click.argument("tag")
@click.argument("implied")
@click.option("--remove", is_flag=True, help="Remove the implication instead.")
def tags_imply(tag: str, implied: str, remove: bool) -> None:
    """Pictures tagged TAG are tagged IMPLIED too (now and from now on)."""
    action = "unimply" if remove else "imply"
    _tag_command(action, tag, implied,
                 f"{'removed: ' if remove else ''}{tag!r} implies {implied!r}")


@tags.command("category")
@click.argument("tag")
@click.argument("category")
def tags_category(tag: str, category: str) -> None:
    """Set TAG's category (general, character, copyright, artist, meta, ...)."""
    _tag_command("category", tag, category, f"{tag!r} is now {category}")


@tags.command("delete")
@click.argument("tag")
def tags_delete(tag: str) -> None:
    """Remove TAG from every picture and forget it."""
    from app.tag_admin import delete

    count = _run(lambda: delete(_db(), tag))
    click.echo(f"deleted {tag!r} from {count} picture(s)")


@click.group("collections")
def collections_group() -> None:
    """List collections (albums)."""


@collections_group.command("list")
@click.option("--user", "username", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def collections_list(username: str, as_json: bool) -> None:
    """A user's collections (all of them, whatever their visibility)."""
    from app.queries.collections import list_collections
    from app.queries.users import get_user_with_hash
    from app.queries.visibility import Viewer

    db = _db()
    user = get_user_with_hash(db, username)
    if user is None:
        click.echo(f"error: no user named {username!r}", err=True)
        sys.exit(2)
    rows = list_collections(db, Viewer(user["id"]), user["id"], limit=10000)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['id']:>5}  {row['visibility']:<9} {row['picture_count']:>5}  "
                   f"{row['title']}")
