"""Proving a model's files really load before it counts as installed.

An ONNX file must pass ``onnx.checker`` and open in onnxruntime (a WD14
model's outputs must match its tag list); a BLIP folder must have its
configs, a tokenizer and weights whose container is intact.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any

from ml.registry import PROCESSOR_CONFIGS, ModelError, first_line

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
        raise ModelError(f"{path.name} is not a valid ONNX model ({first_line(error)}).") \
            from error
    try:
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own exception types
        raise ModelError(f"ONNX Runtime cannot load {path.name} ({first_line(error)}).") \
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
        raise ModelError(f"{path.name} is not a WD14 tag list ({first_line(error)}).") from error
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
        raise ModelError(f"{path.name} is not valid JSON ({first_line(error)}).") from error
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
                         f"({first_line(error)}).") from error
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
                         f"({first_line(error)}).") from error
    if damaged is not None:
        raise ModelError(f"{path.name} is damaged (bad checksum in {damaged}).")


