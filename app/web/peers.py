"""Admin → Peers: follow instances, decide on followers, sync, read each peer's log.

Also the template helpers that point a remote picture's media at the proxy.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.access import admin_required
from app.db import get_db
from app.errors import AppError, NotFound
from app.federation import peers
from app.federation.jobs import enqueue_sync
from app.queries import peers as peer_queries
from app.queries.settings import get_setting, set_setting
from app.web.forms import form_error

bp = Blueprint("peers", __name__, url_prefix="/admin/peers")

ACTIONS = ("approve", "deny", "block", "unblock", "unfollow", "sync")


@bp.app_template_global()
def media_url(image: Any, variant: str) -> str:
    """A picture's thumb/preview/original: the proxy for a remote picture."""
    if image.get("peer_id"):
        return url_for("proxy.media", peer_id=image["peer_id"], remote_id=image["remote_id"],
                       variant=variant)
    return url_for("media.file", image_id=image["id"], variant=variant)


def _list_context() -> dict[str, Any]:
    db = get_db()
    return {"peers": [peers.describe(row) for row in peer_queries.list_peers(db)],
            "auto_approve": bool(get_setting(db, "federation.auto_approve")),
            "own_url": peers.own_url(current_app.config)}


@bp.route("")
@admin_required
def index() -> str:
    return render_template("admin/peers.html", values={}, **_list_context())


@bp.route("", methods=["POST"])
@admin_required
def add() -> Response | tuple[str, int, dict]:
    try:
        row = peers.add_peer(get_db(), current_app.config, request.form.get("url", ""))
    except AppError as error:
        if "field" not in error.details:
            error.details["field"] = "url"
        return form_error("admin/peers.html", error, **_list_context())
    flash(f"Follow request sent to {row['name']} ({row['following']}).")
    return redirect(url_for("peers.index"))


@bp.route("/settings", methods=["POST"])
@admin_required
def settings() -> Response:
    db = get_db()
    with db.transaction():
        set_setting(db, "federation.auto_approve", bool(request.form.get("auto_approve")))
    flash("Saved.")
    return redirect(url_for("peers.index"))


@bp.route("/<int:peer_id>")
@admin_required
def show(peer_id: int) -> str:
    db = get_db()
    row = peer_queries.get_peer(db, peer_id)
    if row is None:
        raise NotFound(f"No peer {peer_id}.")
    pictures = db.value("SELECT count(*) FROM images WHERE peer_id = ?", (peer_id,))
    return render_template("admin/peer.html", peer=peers.describe({**row, "pictures": pictures}),
                           log=peer_queries.sync_log(db, peer_id))


@bp.route("/<int:peer_id>/<any(approve, deny, block, unblock, unfollow, sync):peer_action>",
          methods=["POST"])
@admin_required
def act(peer_id: int, peer_action: str) -> Response:
    try:
        flash(_perform(peer_id, peer_action))
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    return redirect(url_for("peers.show", peer_id=peer_id))


def _perform(peer_id: int, action: str) -> str:
    db, config = get_db(), current_app.config
    if action in ("approve", "deny"):
        row = peers.decide(db, config, peer_id, "approved" if action == "approve" else "denied")
        return f"{row['name']} is {row['follower']} as a follower."
    if action == "sync":
        if peer_queries.get_peer(db, peer_id) is None:
            raise NotFound(f"No peer {peer_id}.")
        job_id = enqueue_sync(db, peer_id, current_user.id)
        return f"Sync queued (job {job_id})."
    if action == "unblock":
        peers.unblock(db, peer_id)
        return "Unblocked."
    removed = (peers.block if action == "block" else peers.unfollow)(db, config, peer_id)
    return f"{action.capitalize()}ed; {removed} remote picture(s) removed."
