"""One page of a picture grid: everything, one owner's, or a search's results."""

from __future__ import annotations

from app.db import Database, QueryInterrupted
from app.errors import BadRequest
from app.queries import images
from app.queries.visibility import Viewer
from app.search.pagination import Page, fetch_page
from app.search.simple import to_match


def grid_page(db: Database, viewer: Viewer, *, query: str = "", owner_id: int | None = None,
              cursor: int | None = None, limit: int = 60, timeout_ms: int = 2000) -> Page:
    match = to_match(query)

    def fetch(before: int | None, count: int) -> list:
        if match is None:
            return images.list_images(db, viewer, owner_id=owner_id, before=before, limit=count)
        return images.search_images(db, viewer, match, owner_id=owner_id, before=before,
                                    limit=count)

    try:
        with db.time_limit(timeout_ms):
            return fetch_page(fetch, cursor, limit)
    except QueryInterrupted:
        raise BadRequest("The search took too long; add words to narrow it.") from None
