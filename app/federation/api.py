"""``/federation/v1/*``: what peers call, every request signed (RFC 9421).

The routes are ``@public`` for the login check because the signature is
their authentication: each verifies it first (``verify_flask_request``, 401
with the reason otherwise) and only then reads the body or the database.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, send_file
from werkzeug.wrappers import Response

from app.auth.access import public
from app.db import get_db
from app.errors import BadRequest, NotFound
from app.federation import peers, push
from app.federation.feed import DEFAULT_LIMIT, MAX_LIMIT, changes_page, is_shared
from app.federation.inbound import verify_flask_request
from app.media.storage import MediaStore

bp = Blueprint("federation", __name__, url_prefix="/federation/v1")

DERIVED = {"thumb": "thumb.webp", "preview": "preview.webp"}


def _resolver(allow_new: bool = False) -> peers.KeyResolver:
    return peers.KeyResolver(get_db(), current_app.config, allow_new=allow_new)


def _signed_peer() -> Any:
    resolver = _resolver()
    verify_flask_request(resolver)
    return peers.known_peer(resolver)


def _refusal() -> Response | None:
    """None when the signer is an approved follower, else the 403 telling it its state."""
    peer = _signed_peer()
    if peer["follower"] == "approved":
        return None
    response = jsonify({"error": "not approved", "state": peer["follower"]})
    response.status_code = 403
    return response


@bp.route("/follow", methods=["POST"])
@public
def follow() -> tuple[Response, int]:
    resolver = _resolver(allow_new=True)
    verified = verify_flask_request(resolver)
    state = peers.receive_follow(get_db(), current_app.config, resolver, verified.key_id,
                                 request.get_json(silent=True))
    return jsonify({"state": state}), 202


@bp.route("/follow", methods=["DELETE"])
@public
def unfollow() -> Response:
    peers.receive_unfollow(get_db(), _signed_peer())
    return jsonify({"state": "none"})


@bp.route("/follow/decision", methods=["POST"])
@public
def decision() -> Response:
    peer = _signed_peer()
    state = peers.receive_decision(get_db(), current_app.config, peer,
                                   request.get_json(silent=True))
    return jsonify({"state": state})


@bp.route("/notify", methods=["POST"])
@public
def notify() -> tuple[Response, int]:
    """A peer we follow says its feed moved: sync it soon (see ``push``)."""
    queued = push.receive_notify(get_db(), _signed_peer(), request.get_json(silent=True))
    return jsonify({"queued": queued}), 202


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}.", field=name)
    return int(raw)


@bp.route("/changes")
@public
def changes() -> Response:
    refused = _refusal()
    if refused is not None:
        return refused
    after = _int_arg("after", 0, 0, 2**62)
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    config = current_app.config
    page = changes_page(get_db(), after=after, limit=limit,
                        share_nsfw=bool(config["FEDERATION_SHARE_NSFW"]),
                        base_url=peers.own_url(config))
    return jsonify(page)


@bp.route("/media/<int:image_id>/<any(thumb, preview, original):variant>")
@public
def media(image_id: int, variant: str) -> Response:
    refused = _refusal()
    if refused is not None:
        return refused
    image = is_shared(get_db(), image_id, bool(current_app.config["FEDERATION_SHARE_NSFW"]))
    if image is None:
        raise NotFound("No such shared picture.")
    store: MediaStore = current_app.extensions["salon.media"]
    if variant == "original":
        path, mime = store.original_path(image["sha256"], image["ext"]), image["mime"]
    else:
        path, mime = store.derived_path(image["sha256"], DERIVED[variant]), "image/webp"
    if not path.exists():
        raise NotFound("The file is missing from the media store.")
    response = send_file(path, mimetype=mime, conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
