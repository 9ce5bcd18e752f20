"""The machine-learning analysis steps: NSFW score, WD14 tags and rating, BLIP caption.

Each step finds its model through the registry and the runtime settings; a
missing model blocks only that step (the job then waits for the model and
resumes when it is installed). Models come from ``ml.loaded``: loaded on
first use, kept warm, unloaded when idle, one copy per process. For a video
every step looks at its three frames; the caption uses the middle one.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from app.analysis.steps import Picture, analysis_step
from app.db import Database
from app.jobs.context import Blocked
from app.jobs.resources import register_checker
from app.queries import images
from app.queries.settings import get_setting
from app.tagging import set_model_tags

SEVERITY = ("general", "sensitive", "questionable", "explicit")


def _model_folder(db: Database, config: dict[str, Any], task: str) -> Any:
    """The installed model the settings name for ``task``; ``Blocked`` when it is missing.

    The job waits on ``task:<task>``, not on one model's name: it resumes as soon as
    *the model in use* for the task is installed, whether it was pulled, imported,
    or another installed model was chosen with ``salon models use``.
    """
    from ml import registry

    name = get_setting(db, f"model.{task}")
    try:
        return registry.resolve(config["MODELS"], name)
    except registry.ModelMissing as missing:
        raise Blocked(str(missing), f"task:{task}") from None


def task_ready(task: str, config: dict[str, Any]) -> bool:
    """Resource checker for ``task:<task>``: is the model in use for it installed?"""
    from ml import registry

    database = Database(config["DATABASE"])
    try:
        registry.resolve(config["MODELS"], get_setting(database, f"model.{task}"))
    except registry.ModelMissing:
        return False
    finally:
        database.close()
    return True


register_checker("task", task_ready)


def update_rating(db: Database, image_id: int) -> str | None:
    """The picture's rating from what is known: the tagger's and the NSFW score's bands."""
    from ml.nsfw import combine

    row = db.one("SELECT tagger_rating, nsfw_score FROM images WHERE id = ?", (image_id,))
    rating = combine(row["tagger_rating"], row["nsfw_score"]) if row else None
    db.execute("UPDATE images SET rating = ? WHERE id = ?", (rating, image_id))
    return rating


@analysis_step("nsfw", "NSFW score")
def nsfw_step(db: Database, picture: Picture, config: dict[str, Any]) -> dict[str, Any]:
    from ml import loaded
    from ml.nsfw import OpenNSFW

    model = loaded.get("open-nsfw", OpenNSFW)
    score = max(model.score(list(picture.views)))
    with db.transaction():
        db.execute("UPDATE images SET nsfw_score = ? WHERE id = ?", (score, picture.image_id))
        rating = update_rating(db, picture.image_id)
    detections = _nudenet(db, picture) if get_setting(db, "nsfw.nudenet") else 0
    return {"nsfw_score": round(score, 4), "rating": rating, "nudenet_tags": detections}


def _nudenet(db: Database, picture: Picture) -> int:
    from ml import loaded
    from ml.nsfw import NudeNetDetector

    detector = loaded.get("nudenet", NudeNetDetector)
    found: dict[str, float] = {}
    for view in picture.views:
        for label, confidence in detector.detect(view):
            found[label] = max(confidence, found.get(label, 0.0))
    return set_model_tags(db, picture.image_id, "nudenet",
                          [(label, "meta", conf) for label, conf in found.items()])


def _tagger_options(db: Database) -> dict[str, Any]:
    return {"general_threshold": float(get_setting(db, "tagger.general_threshold")),
            "character_threshold": float(get_setting(db, "tagger.character_threshold")),
            "mcut": bool(get_setting(db, "tagger.mcut")),
            "max_tags": int(get_setting(db, "tagger.max_tags")) or None}


@analysis_step("tags", "Tags and rating (WD14)")
def tags_step(db: Database, picture: Picture, config: dict[str, Any]) -> dict[str, Any]:
    from ml import loaded
    from ml.tagger_wd14 import WD14Tagger

    installed = _model_folder(db, config, "tagger")
    options = _tagger_options(db)
    model = loaded.get(("wd14", str(installed.path)), lambda: WD14Tagger(installed.path))
    results = model.configured(**options).tag(list(picture.views))
    best: dict[str, tuple[str, float]] = {}
    for result in results:
        for category, pairs in (("general", result.general), ("character", result.character)):
            for name, confidence in pairs:
                if confidence > best.get(name, ("", -1.0))[1]:
                    best[name] = (category, confidence)
    rating = max((result.rating for result in results), key=SEVERITY.index)
    kept = set_model_tags(db, picture.image_id, "wd14",
                          [(name, cat, conf) for name, (cat, conf) in best.items()])
    with db.transaction():
        db.execute("UPDATE images SET tagger_rating = ? WHERE id = ?",
                   (rating, picture.image_id))
        update_rating(db, picture.image_id)
    return {"tags": kept, "tagger_rating": rating, "model": installed.name}


@analysis_step("caption", "Caption (BLIP)")
def caption_step(db: Database, picture: Picture, config: dict[str, Any]) -> dict[str, Any]:
    from ml import loaded

    installed = _model_folder(db, config, "captioner")
    if importlib.util.find_spec("transformers") is None:
        raise Blocked("Captions need the optional 'caption' packages: "
                      "pip install 'salon[caption]' (transformers and torch).",
                      "python:transformers")
    from ml.captioner_blip import BlipCaptioner

    model = loaded.get(("blip", str(installed.path)), lambda: BlipCaptioner(installed.path))
    captioner = model.configured(beams=int(get_setting(db, "captioner.beams")),
                                 max_length=int(get_setting(db, "captioner.max_length")))
    text = captioner.caption(picture.image, prompt=get_setting(db, "captioner.prompt") or None)
    with db.transaction():
        db.execute("UPDATE images SET caption = ? WHERE id = ?", (text, picture.image_id))
        images.index_image(db, picture.image_id)
    return {"caption": text, "model": installed.name}
