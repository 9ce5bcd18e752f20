"""``salon models list|pull|import|use|verify|remove`` against a real app and database:
a job blocked on a missing model resumes once the model is imported."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.cli import main
from app.jobs.queue import Queue
from app.models_cli import models
from app.queries.settings import get_setting
from ml import registry
from tests.models import add_known, fake_hub, tagger_repo, tagger_spec


@pytest.fixture(autouse=True)
def models_command() -> None:
    """app/cli.py adds the group itself; add it here too until it does."""
    if "models" not in main.commands:
        main.add_command(models)


@pytest.fixture
def models_dir(app: Flask) -> Path:
    return Path(app.config["MODELS"])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return tagger_repo(tmp_path / "repo")


@pytest.fixture
def swinv2(monkeypatch: pytest.MonkeyPatch, repo: Path) -> registry.ModelSpec:
    """The default tagger's entry, with the tiny model's checksum in place of the real one."""
    spec = tagger_spec("wd-swinv2-tagger-v3", repo,
                       repo_id="SmilingWolf/wd-swinv2-tagger-v3")
    add_known(monkeypatch)(spec)
    return spec


def blocked_job(db: Any, model: str, resource: str | None = None) -> int:
    """A job that ran, found ``model`` missing and now waits on ``model:<name>`` (or on
    ``resource``, e.g. ``task:tagger`` for whichever model the tagger uses)."""
    queue = Queue(db)
    job_id = queue.enqueue("analyze", {"image_id": job_count(db) + 1})
    job = queue.claim("test-worker")
    assert job is not None and job.id == job_id
    assert queue.block(job_id, "test-worker", f"the model {model} is not installed",
                       resource or f"model:{model}")
    return job_id


def job_count(db: Any) -> int:
    return db.value("SELECT count(*) FROM jobs")


def listing(runner: Any) -> dict[str, dict[str, Any]]:
    result = runner.invoke(["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.output)["models"]}


def state(db: Any, job_id: int) -> str:
    return db.value("SELECT state FROM jobs WHERE id = ?", (job_id,))


def test_list_shows_what_is_installed_missing_in_use_and_awaited(runner: Any, db: Any) -> None:
    blocked_job(db, "wd-swinv2-tagger-v3")

    rows = listing(runner)

    swinv2 = rows["wd-swinv2-tagger-v3"]
    assert (swinv2["installed"], swinv2["in_use"], swinv2["waiting"]) == (False, True, 1)
    assert swinv2["licence"] == "apache-2.0" and swinv2["task"] == "tagger"
    assert swinv2["install_command"] == "salon models pull wd-swinv2-tagger-v3"
    assert swinv2["import_command"] == "salon models import wd-swinv2-tagger-v3 PATH"
    nsfw = rows["open-nsfw"]
    assert (nsfw["installed"], nsfw["source"], nsfw["in_use"]) == (True, "bundled", True)
    assert nsfw["size"] == 23_590_724
    assert rows["blip-large"]["in_use"] is False and rows["blip-large"]["size"] > 10**9


def test_list_as_text_gives_the_install_commands(runner: Any) -> None:
    result = runner.invoke(["models", "list"])

    assert result.exit_code == 0
    assert "wd-swinv2-tagger-v3" in result.output and "missing" in result.output
    assert ("install: salon models pull blip-base   (offline: salon models import blip-base "
            "PATH)") in result.output


def test_missing_model_blocks_then_import_resumes_the_job(
        runner: Any, db: Any, repo: Path, swinv2: registry.ModelSpec) -> None:
    job_id = blocked_job(db, "wd-swinv2-tagger-v3")
    task_job = blocked_job(db, "wd-swinv2-tagger-v3", "task:tagger")
    assert listing(runner)["wd-swinv2-tagger-v3"]["waiting"] == 2

    result = runner.invoke(["models", "import", "wd-swinv2-tagger-v3", str(repo)])

    assert result.exit_code == 0, result.output
    assert "installed wd-swinv2-tagger-v3 (tagger" in result.output
    assert "2 job(s) waiting for wd-swinv2-tagger-v3 queued again" in result.output
    assert state(db, job_id) == state(db, task_job) == "queued"
    row = listing(runner)["wd-swinv2-tagger-v3"]
    assert (row["installed"], row["source"], row["waiting"]) == (True, "import", 0)


def test_pull_installs_and_resumes_waiting_jobs(
        runner: Any, db: Any, repo: Path, swinv2: registry.ModelSpec, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub cannot be reached from here: ``hf_hub_download`` copies from a local folder."""
    (tmp_path / "hub" / "SmilingWolf").mkdir(parents=True)
    repo.rename(tmp_path / "hub" / "SmilingWolf" / "wd-swinv2-tagger-v3")
    fake_hub(monkeypatch, tmp_path / "hub")
    job_id = blocked_job(db, "wd-swinv2-tagger-v3")

    result = runner.invoke(["models", "pull", "wd-swinv2-tagger-v3"])

    assert result.exit_code == 0, result.output
    assert state(db, job_id) == "queued"
    assert listing(runner)["wd-swinv2-tagger-v3"]["source"] == "pull"


def test_pull_without_network_fails_clearly(runner: Any, models_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    fake_hub(monkeypatch, tmp_path, fail=OSError("[Errno -3] Temporary failure in name "
                                                 "resolution"))

    result = runner.invoke(["models", "pull", "blip-base"])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: Could not download config.json of blip-base")
    assert "salon models import blip-base PATH" in result.stderr
    assert not models_dir.exists() or os.listdir(models_dir) == []


def test_import_of_a_corrupt_model_is_refused(runner: Any, repo: Path,
                                              models_dir: Path) -> None:
    (repo / "model.onnx").write_bytes(b"\x08\x01garbage" * 100)

    result = runner.invoke(["models", "import", "--custom", "--task", "tagger", "mine",
                            str(repo)])

    assert result.exit_code == 2
    assert result.stderr.startswith("error: model.onnx is not a valid ONNX model")
    assert "Nothing was installed." in result.stderr
    assert os.listdir(models_dir) == []


def test_custom_needs_a_task(runner: Any, repo: Path) -> None:
    result = runner.invoke(["models", "import", "--custom", "mine", str(repo)])
    assert result.exit_code == 2 and "--custom and --task go together" in result.stderr


def test_custom_import_then_use_switches_the_tagger_and_wakes_its_jobs(
        runner: Any, db: Any, repo: Path) -> None:
    job_id = blocked_job(db, "wd-swinv2-tagger-v3")  # waits for the default tagger
    task_job = blocked_job(db, "wd-swinv2-tagger-v3", "task:tagger")
    result = runner.invoke(["models", "import", "--custom", "--task", "tagger", "my-tagger",
                            str(repo)])
    assert result.exit_code == 0, result.stderr
    assert state(db, job_id) == state(db, task_job) == "blocked"  # not the tagger in use

    result = runner.invoke(["models", "use", "my-tagger"])

    assert result.exit_code == 0, result.stderr
    assert "the tagger now uses my-tagger" in result.output
    assert get_setting(db, "model.tagger") == "my-tagger"
    assert "2 waiting job(s) queued again" in result.output
    assert state(db, job_id) == state(db, task_job) == "queued"  # to run with the new tagger
    rows = listing(runner)
    assert rows["my-tagger"]["in_use"] and rows["my-tagger"]["source"] == "custom"
    assert not rows["wd-swinv2-tagger-v3"]["in_use"]


def test_use_refuses_a_model_that_is_not_installed(runner: Any, db: Any) -> None:
    result = runner.invoke(["models", "use", "blip-large"])

    assert result.exit_code == 2
    assert "salon models pull blip-large" in result.stderr
    assert get_setting(db, "model.captioner") == "blip-base"


def test_verify_detects_a_file_changed_after_install(runner: Any, repo: Path,
                                                     models_dir: Path) -> None:
    runner.invoke(["models", "import", "--custom", "--task", "tagger", "my-tagger", str(repo)])
    assert runner.invoke(["models", "verify"]).exit_code == 0

    (models_dir / "my-tagger" / "model.onnx").write_bytes(b"tampered")
    result = runner.invoke(["models", "verify", "my-tagger"])

    assert result.exit_code == 2
    assert "my-tagger: model.onnx changed since it was installed" in result.output
    assert "error: 1 problem(s) found" in result.stderr


def test_remove_refuses_the_model_in_use_unless_forced(runner: Any, db: Any, repo: Path,
                                                       models_dir: Path) -> None:
    runner.invoke(["models", "import", "--custom", "--task", "tagger", "my-tagger", str(repo)])
    runner.invoke(["models", "use", "my-tagger"])

    refused = runner.invoke(["models", "remove", "my-tagger"])
    assert refused.exit_code == 2 and "my-tagger is the tagger in use" in refused.stderr
    assert (models_dir / "my-tagger").is_dir()

    forced = runner.invoke(["models", "remove", "--force", "my-tagger"])
    assert forced.exit_code == 0 and "removed my-tagger" in forced.output
    assert not (models_dir / "my-tagger").exists()
    row = listing(runner)["my-tagger"]  # still chosen, so listed as missing
    assert (row["installed"], row["in_use"]) == (False, True)
    assert row["install_command"] == "salon models import --custom --task TASK my-tagger PATH"


def test_remove_of_an_unused_model(runner: Any, repo: Path, models_dir: Path) -> None:
    runner.invoke(["models", "import", "--custom", "--task", "tagger", "spare", str(repo)])
    assert runner.invoke(["models", "remove", "spare"]).exit_code == 0
    assert not (models_dir / "spare").exists()
    missing = runner.invoke(["models", "remove", "spare"])
    assert missing.exit_code == 2 and "spare is not installed" in missing.stderr
