"""Where media lives on disk. Paths come from content hashes, never user input.

``originals/<aa>/<bb>/<sha256>.<ext>`` are written once and never modified;
``derived/<sha256>/`` holds thumbnails and previews; ``tmp/`` receives uploads
in progress on the same filesystem, so finished files move into place with an
atomic rename. ``adopt`` is called under the database write lock, so the
clean-up (which takes the same lock) never races a new upload of the same file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SHA256 = re.compile(r"^[0-9a-f]{64}$")
EXT = re.compile(r"^[a-z0-9]{2,5}$")


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.originals = self.root / "originals"
        self.derived = self.root / "derived"
        self.tmp = self.root / "tmp"

    def ensure(self) -> None:
        for folder in (self.originals, self.derived, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    def original_path(self, sha256: str, ext: str) -> Path:
        _check(sha256, ext)
        return self.originals / sha256[:2] / sha256[2:4] / f"{sha256}.{ext}"

    def derived_dir(self, sha256: str) -> Path:
        _check(sha256, "x" * 2)
        return self.derived / sha256

    def derived_path(self, sha256: str, name: str) -> Path:
        if name not in ("thumb.webp", "preview.webp"):
            raise ValueError(f"unknown derived file {name!r}")
        return self.derived_dir(sha256) / name

    def temp_dir(self) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="up-", dir=self.tmp))

    def adopt(self, work: Path, original: Path, sha256: str, ext: str) -> None:
        """Move a finished upload (original + derived folder) into place."""
        target = self.original_path(sha256, ext)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(original, target)
        derived = self.derived_dir(sha256)
        if not derived.exists():
            derived.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work / "derived", derived)

    def remove(self, sha256: str, ext: str) -> None:
        self.original_path(sha256, ext).unlink(missing_ok=True)
        shutil.rmtree(self.derived_dir(sha256), ignore_errors=True)

    def stored_originals(self) -> Iterator[tuple[str, str]]:
        """(sha256, ext) of every original on disk."""
        for path in self.originals.glob("*/*/*.*"):
            sha256, _, ext = path.name.partition(".")
            if SHA256.match(sha256) and EXT.match(ext):
                yield sha256, ext


def _check(sha256: str, ext: str) -> None:
    if not SHA256.match(sha256) or not EXT.match(ext):
        raise ValueError("not a content address")


def init_app(app: Any) -> None:
    app.extensions["salon.media"] = MediaStore(app.config["UPLOADS"])
