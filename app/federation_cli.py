"""``salon peers …`` and ``salon federation …``: following other instances from a shell."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click
from flask import Flask

from app.db import Database
from app.errors import AppError


def _app() -> Flask:
    """The app given by the caller (tests pass ``obj=app``), else one from the environment."""
    obj = click.get_current_context().obj
    if isinstance(obj, Flask):
        return obj
    from app import create_app
    from app.cli import initialise

    app = create_app()
    initialise(app)
    return app


def _db(app: Flask) -> Database:
    return app.extensions["salon.db"]


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _run(action: Any, *args: Any) -> Any:
    try:
        return action(*args)
    except AppError as error:
        _fail(error.message)


@click.group("peers")
def peers_group() -> None:
    """Follow other Salon instances and decide who follows this one."""


@peers_group.command("add")
@click.argument("url")
def peers_add(url: str) -> None:
    """Fetch URL's instance document and send it a signed follow request."""
    from app.federation.peers import add_peer

    app = _app()
    row = _run(add_peer, _db(app), app.config, url)
    click.echo(f"peer {row['id']}: {row['name']} ({row['base_url']}), following: "
               f"{row['following']}")


@peers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def peers_list(as_json: bool) -> None:
    """Every peer with both directions' states."""
    from app.federation.peers import describe
    from app.queries.peers import list_peers

    rows = [describe(row) for row in list_peers(_db(_app()))]
    if as_json:
        click.echo(json.dumps({"peers": rows}))
        return
    for row in rows:
        blocked = "  BLOCKED" if row["blocked"] else ""
        click.echo(f"{row['id']:>4}  {row['name']:<20} {row['base_url']:<36} following: "
                   f"{row['following']:<9} follower: {row['follower']:<8} "
                   f"pictures: {row['pictures']}{blocked}")


def _decide(peer_id: int, state: str) -> None:
    from app.federation.peers import decide

    app = _app()
    row = _run(decide, _db(app), app.config, peer_id, state)
    click.echo(f"peer {peer_id}: {row['name']} is {row['follower']} as a follower")


@peers_group.command("approve")
@click.argument("peer_id", type=int)
def peers_approve(peer_id: int) -> None:
    """Let a pending follower read this instance's shared pictures."""
    _decide(peer_id, "approved")


@peers_group.command("deny")
@click.argument("peer_id", type=int)
def peers_deny(peer_id: int) -> None:
    """Refuse a follower."""
    _decide(peer_id, "denied")


@peers_group.command("block")
@click.argument("peer_id", type=int)
def peers_block(peer_id: int) -> None:
    """Refuse all requests from a peer and remove its pictures here."""
    from app.federation.peers import block

    app = _app()
    removed = _run(block, _db(app), app.config, peer_id)
    click.echo(f"peer {peer_id} blocked; {removed} remote picture(s) removed")


@peers_group.command("unfollow")
@click.argument("peer_id", type=int)
def peers_unfollow(peer_id: int) -> None:
    """Stop following a peer and remove its pictures here."""
    from app.federation.peers import unfollow

    app = _app()
    removed = _run(unfollow, _db(app), app.config, peer_id)
    click.echo(f"unfollowed peer {peer_id}; {removed} remote picture(s) removed")


@peers_group.command("unblock")
@click.argument("peer_id", type=int)
def peers_unblock(peer_id: int) -> None:
    """Accept requests from a blocked peer again (following starts over with ``add``)."""
    from app.federation.peers import unblock

    _run(unblock, _db(_app()), peer_id)
    click.echo(f"peer {peer_id} unblocked")


@peers_group.command("auto-approve")
@click.argument("state", type=click.Choice(["on", "off"]), required=False)
def peers_auto_approve(state: str | None) -> None:
    """Approve every follow request at once (on) or leave it to an admin (off).

    Without an argument, print the current state.
    """
    from app.federation.peers import auto_approve, set_auto_approve

    db = _db(_app())
    if state is not None:
        set_auto_approve(db, state == "on")
    click.echo(f"auto-approve: {'on' if auto_approve(db) else 'off'}")


@peers_group.command("log")
@click.argument("peer_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def peers_log(peer_id: int, as_json: bool) -> None:
    """A peer's sync runs, newest first: when, pages, pictures new or changed, removed, error."""
    from app.federation.peers import sync_history

    rows = _run(sync_history, _db(_app()), peer_id)
    if as_json:
        click.echo(json.dumps({"peer_id": peer_id, "log": rows}))
        return
    if not rows:
        click.echo(f"peer {peer_id}: no syncs yet")
    for row in rows:
        click.echo(_log_line(row))


def _log_line(row: dict[str, Any]) -> str:
    outcome = f"error: {row['error']}" if row["error"] else (
        "ok" if row["finished_at"] else "running")
    return (f"{row['started_at']}  {row['pages']} page(s), {row['upserts']} new or changed,"
            f" {row['deletes']} removed  {outcome}")


@peers_group.command("sync")
@click.argument("peer_id", type=int, required=False)
@click.option("--queue", "queued", is_flag=True,
              help="Queue sync jobs for the worker instead of syncing here.")
@click.option("--limit", type=click.IntRange(1, 500), default=500, show_default=True,
              help="Changes per page.")
def peers_sync(peer_id: int | None, queued: bool, limit: int) -> None:
    """Pull the changes of one followed peer (or of every one) until caught up."""
    from app.queries.peers import list_peers

    app = _app()
    db = _db(app)
    ids = [peer_id] if peer_id is not None else [
        row["id"] for row in list_peers(db)
        if row["following"] in ("requested", "approved") and not row["blocked"]]
    failed = sum(not _sync_one(app, one, queued, limit) for one in ids)
    if failed:
        sys.exit(1)


def _sync_one(app: Flask, peer_id: int, queued: bool, limit: int) -> bool:
    from app.federation.jobs import enqueue_sync
    from app.federation.sync import sync_peer, thumbnail_prefetcher

    db = _db(app)
    if queued:
        click.echo(f"peer {peer_id}: sync queued (job {enqueue_sync(db, peer_id)})")
        return True
    try:
        result = sync_peer(db, app.config, peer_id, limit=limit,
                           prefetch=thumbnail_prefetcher(db, app.config))
    except AppError as error:
        click.echo(f"peer {peer_id}: sync failed: {error.message}", err=True)
        return False
    click.echo(f"peer {peer_id}: {result.pages} page(s), {result.upserts} new or changed,"
               f" {result.deletes} removed, cursor {result.cursor}")
    return True


@click.group("federation")
def federation_group() -> None:
    """This instance's federation identity."""


@federation_group.command("rotate-key")
def rotate_key() -> None:
    """Make a new signing key; the instance document keeps listing the previous one."""
    from app.federation.identity import load_identity, rotate_identity

    app = _app()
    rotate_identity(app.config["INSTANCE"])
    click.echo(f"new key: {load_identity(app.config).key_id}")
