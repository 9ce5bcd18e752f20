"""What a peer's change feed may contain, checked strictly before anything is stored.

A page is refused whole (nothing stored, the cursor unmoved) when any part
of it is malformed: wrong types, an unknown ``op``, more changes than asked
for, sequence numbers that go backwards, an origin link outside the peer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import AppError

RemoteId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Text = Annotated[str, Field(max_length=200)]
Rating = Literal["general", "sensitive", "questionable", "explicit"]
Timestamp = Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")]
# A display name only: no folder separators, no control characters.
FileName = Annotated[str, Field(max_length=200, pattern=r"^[^/\\\x00-\x1f\x7f]*$")]
MAX_TAGS = 500
BIG = 2**62


class FeedError(AppError):
    """A peer's feed (or answer) that Salon refuses; nothing was stored."""

    status = 502


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class RemoteTag(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    category: Annotated[str, Field(max_length=32)] = "general"
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None


class RemoteMetadata(_Strict):
    generator: Text | None = None
    prompt: Annotated[str, Field(max_length=20_000)] | None = None
    negative_prompt: Annotated[str, Field(max_length=20_000)] | None = None
    model: Text | None = None
    model_hash: Text | None = None
    sampler: Text | None = None
    scheduler: Text | None = None
    steps: Annotated[int, Field(ge=0, le=100_000)] | None = None
    cfg_scale: Annotated[float, Field(ge=-1000, le=1000)] | None = None
    seed: Annotated[int, Field(ge=-(2**63), lt=2**63)] | None = None


class RemotePicture(_Strict):
    id: RemoteId
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    kind: Literal["image", "video"]
    mime: Annotated[str, Field(pattern=r"^(image|video)/[a-z0-9.+-]{1,40}$")]
    width: Annotated[int, Field(ge=1, le=1_000_000)]
    height: Annotated[int, Field(ge=1, le=1_000_000)]
    size_bytes: Annotated[int, Field(ge=0, le=BIG)]
    frames: Annotated[int, Field(ge=1, le=10_000_000)] = 1
    duration: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    file_name: FileName = ""
    title: Text = ""
    description: Annotated[str, Field(max_length=5000)] = ""
    rating: Rating | None = None
    nsfw_score: Annotated[float, Field(ge=0, le=1)] | None = None
    caption: Annotated[str, Field(max_length=2000)] | None = None
    tags: Annotated[list[RemoteTag], Field(max_length=MAX_TAGS)] = []
    metadata: RemoteMetadata = RemoteMetadata()
    created_at: Timestamp
    updated_at: Timestamp | None = None
    url: Annotated[str, Field(max_length=2000)]


class Upsert(_Strict):
    seq: Annotated[int, Field(ge=1, le=BIG)]
    op: Literal["upsert"]
    picture: RemotePicture


class Delete(_Strict):
    seq: Annotated[int, Field(ge=1, le=BIG)]
    op: Literal["delete"]
    id: RemoteId


Change = Annotated[Upsert | Delete, Field(discriminator="op")]


class FeedPage(_Strict):
    changes: list[Change]
    next_after: Annotated[int, Field(ge=0, le=BIG)]
    more: bool


def parse_page(raw: Any, *, cursor: int, limit: int, base_url: str) -> FeedPage:
    """The page if every part of it is well formed and consistent; ``FeedError`` otherwise."""
    if not isinstance(raw, dict):
        raise FeedError("The peer's feed is not a JSON object.")
    if isinstance(raw.get("changes"), list) and len(raw["changes"]) > limit:
        raise FeedError(f"The peer sent {len(raw['changes'])} changes; at most {limit}"
                        " were asked for.")
    try:
        page = FeedPage.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise FeedError(f"The peer's feed is malformed at {where}: {first['msg']}.") from None
    _check_order(page, cursor)
    _check_links(page, base_url)
    return page


def _check_order(page: FeedPage, cursor: int) -> None:
    previous = cursor
    for change in page.changes:
        if change.seq <= previous:
            raise FeedError("The peer's feed goes backwards (sequence numbers must grow).")
        previous = change.seq
    if page.next_after < previous:
        raise FeedError("The peer's next_after is behind its own changes.")
    if page.more and page.next_after <= cursor:
        raise FeedError("The peer's feed does not advance.")


def _check_links(page: FeedPage, base_url: str) -> None:
    prefix = base_url.rstrip("/") + "/"
    for change in page.changes:
        if isinstance(change, Upsert) and not change.picture.url.startswith(prefix):
            raise FeedError("A picture's link points outside the peer.")
