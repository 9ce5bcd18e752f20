"""Serves a picture's files (thumbnail, preview, original) after the visibility check."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, send_file, url_for
from werkzeug.wrappers import Response

from app.auth.access import current_viewer, gallery
from app.db import Row, get_db
from app.errors import NotFound
from app.media.storage import MediaStore
from app.queries import images

bp = Blueprint("media", __name__)

VARIANTS = {"thumb": "thumb.webp", "preview": "preview.webp"}


@bp.route("/media/<int:image_id>/<any(thumb, preview, original):variant>")
@gallery
def file(image_id: int, variant: str) -> Response:
    image = images.visible_image(get_db(), image_id, current_viewer())
    if image["peer_id"] is not None:
        return _remote(image, variant)
    store: MediaStore = current_app.extensions["salon.media"]
    if variant == "original":
        path = store.original_path(image["sha256"], image["ext"])
    else:
        path = store.derived_path(image["sha256"], VARIANTS[variant])
    if not path.exists():
        raise NotFound("The file is missing from the media store.")
    response = send_file(path, mimetype=image["mime"] if variant == "original" else "image/webp",
                         conditional=True, etag=f"{image['sha256']}-{variant}", max_age=3600)
    _cache_headers(response)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/media/<int:image_id>/download")
@gallery
def download(image_id: int) -> Response:
    image = images.visible_image(get_db(), image_id, current_viewer())
    if image["peer_id"] is not None:
        return _remote(image, "original")
    store: MediaStore = current_app.extensions["salon.media"]
    path = store.original_path(image["sha256"], image["ext"])
    response = send_file(path, mimetype=image["mime"], as_attachment=True,
                         download_name=image["file_name"], conditional=True)
    _cache_headers(response)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _remote(image: Row, variant: str) -> Response:
    """A remote picture's files live on its peer: through the proxy (same checks there)."""
    return redirect(url_for("proxy.media", peer_id=image["peer_id"],
                            remote_id=image["remote_id"], variant=variant))


def _cache_headers(response: Response) -> None:
    # Never in a shared cache: a picture made private later must not linger there.
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
