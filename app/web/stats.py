"""The statistics page: what is in the library the viewer can see, or only their own."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app import stats as service
from app.auth.access import current_viewer
from app.db import get_db

bp = Blueprint("stats", __name__)


@bp.route("/stats")
def index() -> str:
    viewer = current_viewer()
    mine = request.args.get("mine") == "1"
    found = service.library_stats(get_db(), viewer, viewer.user_id if mine else None)
    return render_template("stats/index.html", stats=found, mine=mine, title="Statistics")
