"""Models as the admin sees them: the registry joined with the runtime settings (which
model each task runs with) and the queue (which jobs wait for a model).

``salon models list`` and the admin "Models" page show the same rows, and both
switch models through ``use_model``, so a switch always wakes the jobs that were
waiting for a model of that task.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from app.db import Database
from app.jobs.queue import Queue
from app.queries.settings import get_setting, set_setting
from ml import registry

log = logging.getLogger(__name__)

# The tasks whose model is a runtime setting (the detector is switched on by nsfw.nudenet).
TASK_SETTINGS = {"tagger": "model.tagger", "captioner": "model.captioner", "nsfw": "model.nsfw"}


def waiting_jobs(db: Database) -> dict[str, int]:
    """Resource → number of blocked jobs waiting for it: ``model:<name>`` (one model) or
    ``task:<task>`` (whichever model that task uses)."""
    counts: dict[str, int] = {}
    for row in db.all("SELECT blocked_on, count(*) AS n FROM jobs WHERE state = 'blocked'"
                      " GROUP BY blocked_on"):
        for resource in (row["blocked_on"] or "").split(","):  # a job may wait on several
            if resource.startswith(("model:", "task:")):
                counts[resource] = counts.get(resource, 0) + row["n"]
    return counts


def models_in_use(db: Database) -> dict[str, str]:
    """Task → the model it runs with."""
    return {task: get_setting(db, key) for task, key in TASK_SETTINGS.items()}


def model_overview(db: Database, models_dir: Path) -> list[dict[str, Any]]:
    """One row per known, installed, chosen or awaited model: known ones first."""
    installed = {model.name: model for model in registry.installed(models_dir)}
    in_use, waiting = models_in_use(db), waiting_jobs(db)
    awaited = {key.removeprefix("model:") for key in waiting if key.startswith("model:")}
    extra = (set(installed) | set(in_use.values()) | awaited) - set(registry.KNOWN)
    names = [*registry.KNOWN, *sorted(extra)]
    return [_row(name, installed.get(name), in_use, waiting) for name in names]


def _row(name: str, model: registry.Installed | None, in_use: dict[str, str],
         waiting: dict[str, int]) -> dict[str, Any]:
    spec = registry.KNOWN.get(name)
    task = model.task if model else spec.task if spec else _task_of(name, in_use)
    return {
        "name": name, "task": task, "installed": model is not None,
        "source": model.source if model else None,
        "size": model.size if model else registry.expected_size(name),
        "licence": model.licence if model else spec.licence if spec else "unknown",
        "in_use": in_use.get(task or "") == name,
        "waiting": _waiting(name, task, in_use, waiting),
        "repo_id": spec.repo_id if spec else None,
        "description": spec.description if spec else "Custom model.",
        "thresholds": dict(spec.thresholds) if spec else {},
        "install_command": None if model else registry.install_command(name),
        "import_command": None if model else registry.import_command(name),
    }


def _task_of(name: str, in_use: dict[str, str]) -> str | None:
    return next((task for task, chosen in in_use.items() if chosen == name), None)


def _waiting(name: str, task: str | None, in_use: dict[str, str],
             waiting: dict[str, int]) -> int:
    """Jobs waiting for this model by name, plus those waiting for its task if it is in use."""
    count = waiting.get(f"model:{name}", 0)
    if task is not None and in_use.get(task) == name:
        count += waiting.get(f"task:{task}", 0)
    return count


def resume_waiting(db: Database, models_dir: Path, name: str) -> int:
    """The model arrived: queue again the jobs waiting for it, by its name or, when a task
    uses it, by that task."""
    queue = Queue(db)
    resumed = queue.resume_blocked(f"model:{name}")
    model = registry.find(models_dir, name)
    key = TASK_SETTINGS.get(model.task) if model is not None else None
    if model is not None and key is not None and get_setting(db, key) == name:
        resumed += queue.resume_blocked(f"task:{model.task}")
    if resumed:
        log.info("model %s is available: %d waiting job(s) queued again", name, resumed)
    return resumed


def use_model(db: Database, models_dir: Path, name: str) -> tuple[str, int]:
    """Make ``name`` the model of its task; return the task and how many jobs resumed.

    Jobs waiting for the previous model of that task resume too when that model is
    missing: they will run with the new one.
    """
    model = registry.resolve(models_dir, name)
    key = TASK_SETTINGS.get(model.task)
    if key is None:
        raise registry.ModelError(f"{name} is a {model.task} model; Salon does not choose "
                                  f"{model.task} models with 'use'.")
    previous = get_setting(db, key)
    with db.transaction():
        set_setting(db, key, name)
    resumed = resume_waiting(db, models_dir, name)
    if previous != name and not registry.is_available(models_dir, previous):
        resumed += Queue(db).resume_blocked(f"model:{previous}")
    log.info("the %s now uses %s (was %s)", model.task, name, previous)
    return model.task, resumed
