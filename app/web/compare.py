"""Two pictures side by side, or one over the other with a slider, and what differs.

Both pictures go through the same visibility check as a picture page: a
picture the viewer may not open is a 404 whichever side it is on, so the
page never tells whether a private picture exists.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app import compare as service
from app.auth.access import current_viewer, gallery
from app.db import get_db
from app.errors import BadRequest
from app.queries import images

bp = Blueprint("compare", __name__)


def _picture_id(name: str) -> int:
    raw = request.args.get(name, "")
    if not raw.isdigit() or int(raw) <= 0:
        raise BadRequest(f"'{name}' must be a picture id.", field=name)
    return int(raw)


@bp.route("/compare")
@gallery
def index() -> str:
    db, viewer = get_db(), current_viewer()
    a, b = _picture_id("a"), _picture_id("b")
    left, right = images.visible_image(db, a, viewer), images.visible_image(db, b, viewer)
    comparison = service.compare(left, images.get_metadata(db, left["id"]),
                                 right, images.get_metadata(db, right["id"]))
    return render_template("compare/index.html", left=left, right=right,
                           comparison=comparison, title="Compare")
