"""``/api/v1/peers``: the admin's peers as JSON: list, follow, act on one, the setting."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.access import admin_required
from app.db import get_db
from app.errors import AppError, BadRequest
from app.federation import peers

bp = Blueprint("api_peers", __name__, url_prefix="/api/v1")


@bp.route("/peers")
@admin_required
def list_peers() -> Response:
    return jsonify(peers.overview(get_db(), current_app.config))


@bp.route("/peers", methods=["POST"])
@admin_required
def add() -> tuple[Response, int]:
    body = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str):
        raise BadRequest("Send a JSON object: {\"url\": \"https://other.example\"}.", field="url")
    db = get_db()
    try:
        row = peers.add_peer(db, current_app.config, url)
    except AppError as error:
        error.details.setdefault("field", "url")
        raise
    return jsonify(peers.details(db, row["id"])), 201


@bp.route("/peers/<int:peer_id>")
@admin_required
def get_peer(peer_id: int) -> Response:
    db = get_db()
    return jsonify({**peers.details(db, peer_id), "log": peers.sync_history(db, peer_id)})


@bp.route(f"/peers/<int:peer_id>/<any({', '.join(peers.ACTIONS)}):peer_action>",
          methods=["POST"])
@admin_required
def act(peer_id: int, peer_action: str) -> tuple[Response, int]:
    db = get_db()
    outcome = peers.perform(db, current_app.config, peer_id, peer_action, current_user.id)
    answer = {"message": outcome.message, "peer": peers.details(db, peer_id)}
    if outcome.job_id is None:
        return jsonify(answer), 200
    return jsonify({**answer, "job_id": outcome.job_id}), 202


@bp.route("/peers/settings", methods=["PUT"])
@admin_required
def settings() -> Response:
    body = request.get_json(silent=True)
    value = body.get("auto_approve") if isinstance(body, dict) else None
    if not isinstance(value, bool):
        raise BadRequest("Send a JSON object: {\"auto_approve\": true or false}.",
                         field="auto_approve")
    db = get_db()
    peers.set_auto_approve(db, value)
    return jsonify({"auto_approve": peers.auto_approve(db)})
