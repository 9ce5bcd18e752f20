"""Tags on pictures: what models propose and what owners decide.

Names are normalised once here. A model's tags replace that model's earlier
tags on re-analysis, but never a tag the owner added, and never bring back a
tag the owner removed. Counts and the full-text index change in the same
transaction as the tags. Aliases are followed (tagging ``kitty`` stores
``cat``) and implications applied (``cat ears`` brings ``animal ears`` with
the same source, so a model's re-analysis drops what its tags implied too).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from app.db import Database
from app.errors import BadRequest
from app.queries import images
from app.queries import tag_admin as tag_admin_queries
from app.queries import tags as tag_queries

MAX_NAME = 100
MAX_EDIT = 200
CATEGORIES = ("general", "character", "copyright", "artist", "meta", "rating", "model",
              "sampler")
# Kept as written: the underscore is part of the face (reference kaomoji list).
KAOMOJI = {"0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3",
           "6_9", ">_o", "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||"}


def normalise(name: Any) -> str:
    """Lower-case, one space between words, underscores as spaces (kaomoji kept)."""
    text = unicodedata.normalize("NFC", str(name or "")).strip().lower()
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise BadRequest(f"Tag {text!r} contains control characters.", field="tags")
    if text not in KAOMOJI:
        text = text.replace("_", " ")
    text = re.sub(r"\s+", " ", text).strip()
    if not text or len(text) > MAX_NAME:
        raise BadRequest(f"Tags are 1–{MAX_NAME} characters.", field="tags")
    return text


def set_model_tags(db: Database, image_id: int, source: str,
                   proposed: Iterable[tuple[str, str, float]]) -> int:
    """Replace ``source``'s tags on the picture; returns how many were kept."""
    with db.transaction():
        touched = tag_queries.drop_source(db, image_id, source)
        removed = tag_queries.removed_tag_ids(db, image_id)
        kept = 0
        for name, category, confidence in proposed:
            tag = tag_queries.tag_id(db, canonical(db, name), category)
            if tag in removed:
                continue
            score = round(float(confidence), 4)
            tag_queries.attach(db, image_id, tag, source, score)
            touched += [tag, *_attach_implied(db, image_id, tag, source, score, removed)]
            kept += 1
        tag_queries.recount(db, touched)
        images.index_image(db, image_id)
    return kept


def edit_tags(db: Database, image_id: int, add: Iterable[Any],
              remove: Iterable[Any]) -> None:
    """The owner's edit (ownership is checked by the caller)."""
    additions = [normalise(name) for name in add]
    removals = [normalise(name) for name in remove]
    if len(additions) + len(removals) > MAX_EDIT:
        raise BadRequest(f"Change at most {MAX_EDIT} tags at once.", field="tags")
    with db.transaction():
        touched = []
        for name in removals:
            found = tag_admin_queries.get_tag(db, tag_admin_queries.canonical_name(db, name))
            if found is not None:
                tag_queries.detach(db, image_id, found["id"])
                touched.append(found["id"])
        for name in additions:
            tag = tag_queries.tag_id(db, tag_admin_queries.canonical_name(db, name), "general")
            for each in tag_admin_queries.closure(db, [tag]):
                tag_queries.forget_removal(db, image_id, each)
                tag_queries.attach(db, image_id, each, "user", None)
                touched.append(each)
        tag_queries.recount(db, touched)
        images.index_image(db, image_id)


def canonical(db: Database, name: Any) -> str:
    """The stored name for ``name``: normalised, and an alias replaced by its tag."""
    return tag_admin_queries.canonical_name(db, normalise(name))


def _attach_implied(db: Database, image_id: int, tag: int, source: str, confidence: float,
                    removed: set[int]) -> list[int]:
    """Add what ``tag`` implies, unless the owner removed it or the picture has it."""
    extra = sorted(tag_admin_queries.closure(db, [tag]) - {tag} - removed)
    for implied_tag in extra:
        tag_admin_queries.attach_if_absent(db, image_id, implied_tag, source, confidence)
    return extra


def recount_picture(db: Database, image_id: int) -> None:
    """After a picture is deleted, its tags count one fewer."""
    tag_queries.recount(db, tag_queries.tag_ids_of(db, image_id))
