"""``/proxy/<peer>/<remote id>/<variant>``: a remote picture's media, through the proxy."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, send_file
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

from app.auth.access import current_viewer, gallery
from app.db import get_db
from app.errors import NotFound
from app.federation.proxy import fetch_cached, proxy_peer, visible_remote_image

bp = Blueprint("proxy", __name__)


class RemoteIdConverter(BaseConverter):
    """A peer's picture id: 1–64 letters, digits, ``_`` or ``-`` (it goes into a URL path
    on the peer and a file name here)."""

    regex = r"[A-Za-z0-9_-]{1,64}"


@bp.record_once
def _add_converter(state: BlueprintSetupState) -> None:
    # Runs before the rules below are added: the converter must exist when they are bound.
    state.app.url_map.converters.setdefault("remote_id", RemoteIdConverter)


@bp.route("/proxy/<int:peer_id>/<remote_id:remote_id>/<any(thumb, preview, original):variant>")
@gallery
def media(peer_id: int, remote_id: str, variant: str) -> Response:
    db = get_db()
    peer = proxy_peer(db, peer_id)
    if peer is None or visible_remote_image(db, peer_id, remote_id, current_viewer()) is None:
        raise NotFound("No such remote picture.")
    found = fetch_cached(db, current_app.config, peer, remote_id, variant)
    response = send_file(found.path, mimetype=found.mime, conditional=True,
                         etag=f"proxy-{peer_id}-{remote_id}-{variant}-{found.size}",
                         max_age=3600)
    _harden(response.headers)
    return response


def _harden(headers: Any) -> None:
    headers["Cache-Control"] = "private, max-age=3600"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
