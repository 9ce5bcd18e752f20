"""``GET /.well-known/salon``: the instance document peers fetch to verify our signatures."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from app.auth.access import public
from app.federation.identity import instance_document, load_identity

bp = Blueprint("wellknown", __name__)


@bp.route("/.well-known/salon")
@public
def document() -> Response:
    identity = load_identity(current_app.config)
    response = jsonify(instance_document(current_app.config, identity))
    # Short: after a key rotation peers should see the new key soon.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
