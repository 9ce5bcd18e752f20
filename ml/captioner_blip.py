"""BLIP captions with transformers on the CPU build of torch.

Salesforce's ``blip-image-captioning-base`` is the default and ``-large`` is
selectable; both are loaded from a local folder only (``local_files_only``,
and ``HF_HUB_OFFLINE=1`` unless the operator set it), because models are
installed with ``salon models pull|import`` and never fetched implicitly.

Captions are unconditional by default. With a prompt (e.g. "a photography
of") BLIP continues that text, and the prompt is part of what it returns:
``caption(image, "a photography of")`` gives "a photography of a cat on a
sofa". Nothing is stripped, so stored captions say what BLIP said.

``beams`` is the beam-search width and ``max_length`` the most tokens BLIP
may add (the prompt does not count). Torch uses at most one thread per core
this process may run on.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Any

from PIL import Image

from ml import loaded

log = logging.getLogger(__name__)

SETTINGS = ("beams", "max_length", "prompt")


def _offline() -> None:
    """Belt and braces with ``local_files_only`` (the real guard: huggingface-hub reads
    the variable when it is imported, which may have happened already)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _limit_threads() -> None:
    import torch

    cores = loaded.cpu_cores()
    if torch.get_num_threads() > cores:
        torch.set_num_threads(cores)


def _quiet_transformers() -> None:
    """No progress bars on a worker's stderr; the load is logged instead."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


class BlipCaptioner:
    """One loaded BLIP captioning model."""

    def __init__(self, model_dir: str | os.PathLike[str], *, beams: int = 3,
                 max_length: int = 30, prompt: str | None = None) -> None:
        folder = Path(model_dir)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"BLIP model folder {folder} has no config.json")
        _offline()
        _limit_threads()
        _quiet_transformers()
        from transformers import BlipForConditionalGeneration, BlipProcessor

        self.model_dir = folder
        self.processor = BlipProcessor.from_pretrained(folder, local_files_only=True)
        model = BlipForConditionalGeneration.from_pretrained(folder, local_files_only=True)
        self.model = model.eval()
        self.beams = beams
        self.max_length = max_length
        self.prompt = prompt

    def configured(self, **settings: Any) -> BlipCaptioner:
        """The same loaded model with other generation settings (nothing reloaded)."""
        clone = copy.copy(self)
        for name, value in settings.items():
            if name not in SETTINGS:
                raise TypeError(f"unknown BLIP setting {name!r}")
            setattr(clone, name, value)
        return clone

    def caption(self, image: Image.Image, prompt: str | None = None) -> str:
        """A caption for one picture, conditional on ``prompt`` (else the default prompt);
        an empty prompt asks for an unconditional caption even when a default is set."""
        import torch

        text = prompt if prompt is not None else self.prompt
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        with torch.inference_mode():
            inputs = self.processor(images=rgb, text=text or None, return_tensors="pt")
            tokens = self.model.generate(**inputs, num_beams=self.beams,
                                         max_new_tokens=self.max_length)
        return str(self.processor.decode(tokens[0], skip_special_tokens=True)).strip()


def shared(model_dir: str | os.PathLike[str], **settings: Any) -> BlipCaptioner:
    """The process's one loaded copy of the BLIP model in ``model_dir``, with these settings."""
    folder = Path(model_dir).resolve()
    base = loaded.get(("blip", str(folder)), lambda: BlipCaptioner(folder))
    return base.configured(**settings) if settings else base
