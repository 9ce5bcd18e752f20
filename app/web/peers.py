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
from app.errors import AppError
from app.federation import peers
from app.web.forms import form_error

bp = Blueprint("peers", __name__, url_prefix="/admin/peers")


@bp.app_template_global()
def media_url(image: Any, variant: str) -> str:
    """A picture's thumb/preview/original: the proxy for a remote picture."""
    if image.get("peer_id"):
        return url_for("proxy.media", peer_id=image["peer_id"], remote_id=image["remote_id"],
                       variant=variant)
    return url_for("media.file", image_id=image["id"], variant=variant)


def _list_context() -> dict[str, Any]:
    return peers.overview(get_db(), current_app.config)


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
    peers.set_auto_approve(get_db(), bool(request.form.get("auto_approve")))
    flash("Saved.")
    return redirect(url_for("peers.index"))


@bp.route("/<int:peer_id>")
@admin_required
def show(peer_id: int) -> str:
    db = get_db()
    return render_template("admin/peer.html", peer=peers.details(db, peer_id),
                           log=peers.sync_history(db, peer_id))


@bp.route(f"/<int:peer_id>/<any({', '.join(peers.ACTIONS)}):peer_action>",
          methods=["POST"])
@admin_required
def act(peer_id: int, peer_action: str) -> Response:
    try:
        outcome = peers.perform(get_db(), current_app.config, peer_id, peer_action,
                                current_user.id)
        flash(outcome.message)
    except AppError as error:
        if error.status == 404:
            raise
        flash(error.message, "error")
    return redirect(url_for("peers.show", peer_id=peer_id))

