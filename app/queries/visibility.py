"""Who may see which picture: the one place visibility is decided.

Every query that lists or fetches pictures takes its condition from here.
A *listing* shows public pictures and the viewer's own; a *direct* fetch
(picture page, files, API by id) also admits unlisted ones. An anonymous
viewer sees public pictures only when the admin has made the gallery public.
Deleted pictures are never visible.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    is_admin: bool = False
    public_gallery: bool = False

    @property
    def anonymous(self) -> bool:
        return self.user_id is None


def listable(viewer: Viewer, alias: str = "i") -> tuple[str, list[int]]:
    """SQL condition (and params) for pictures this viewer may see in a list."""
    return _condition(viewer, alias, ("public",))


def viewable(viewer: Viewer, alias: str = "i") -> tuple[str, list[int]]:
    """SQL condition (and params) for a picture this viewer may open by id."""
    return _condition(viewer, alias, ("public", "unlisted"))


def _condition(viewer: Viewer, alias: str, shared: tuple[str, ...]) -> tuple[str, list[int]]:
    if not alias.isidentifier():
        raise ValueError(f"bad table alias {alias!r}")
    levels = ", ".join(f"'{level}'" for level in shared)
    live = f"{alias}.deleted_at IS NULL"
    if viewer.anonymous:
        if not viewer.public_gallery:
            return "0", []
        return f"({live} AND {alias}.visibility IN ({levels}))", []
    user_id = viewer.user_id
    assert user_id is not None
    return f"({live} AND ({alias}.visibility IN ({levels}) OR {alias}.owner_id = ?))", [user_id]
