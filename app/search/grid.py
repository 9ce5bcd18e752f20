"""One page of a picture grid: everything, one owner's, or a search's results.

Every grid is a search (an empty query lists everything newest first), so
the web pages and the API share ``app.search.engine.run_search``.
"""

from __future__ import annotations

from app.db import Database
from app.queries.visibility import Viewer
from app.search.engine import run_search
from app.search.pagination import Page


def grid_page(db: Database, viewer: Viewer, *, query: str = "", owner_id: int | None = None,
              cursor: int | str | None = None, limit: int = 60,
              timeout_ms: int = 2000) -> Page:
    return run_search(db, viewer, query, owner_id=owner_id, cursor=cursor, limit=limit,
                      timeout_ms=timeout_ms)
