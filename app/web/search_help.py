"""``/search/help``: every construct of the search language, with examples.

Readable by whoever may read the gallery (``@gallery``): anonymous visitors
of a public gallery search too, so they get the help too.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.auth.access import gallery
from app.search.compiler import MAX_EXPANSION
from app.search.syntax import MAX_LENGTH, MAX_TERMS, ORDERS
from app.search.values import METATAGS

bp = Blueprint("search_help", __name__)


@bp.route("/search/help")
@gallery
def help_page() -> str:
    return render_template("search/help.html", title="Search help", metatags=list(METATAGS),
                           orders=ORDERS, max_length=MAX_LENGTH, max_terms=MAX_TERMS,
                           max_expansion=MAX_EXPANSION)
