"""Tiny models for the model registry's tests, laid out like their Hugging Face repositories.

Real weights are hundreds of MB and the hub cannot be reached from the test
machines, so the tests build models with the same contract: an ONNX graph made
with ``onnx.helper`` (NHWC pictures in, one score per tag out, scores that
depend on the pixels) with its ``selected_tags.csv``, and a BLIP-shaped folder
whose weights are a real safetensors file.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ml import registry

TAGS = ("general", "sensitive", "questionable", "explicit", "1girl", "sky", "hatsune_miku")


def tiny_onnx(path: Path, outputs: int = len(TAGS), side: int = 8) -> Path:
    """Mean colour of the picture times a weight matrix, then a sigmoid: a WD14 in miniature."""
    weights = numpy_helper.from_array(
        np.linspace(-1, 1, 3 * outputs, dtype=np.float32).reshape(3, outputs), "weights")
    axes = numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes")
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input", "axes"], ["mean"], keepdims=0),
         helper.make_node("MatMul", ["mean", "weights"], ["logits"]),
         helper.make_node("Sigmoid", ["logits"], ["output"])],
        "tiny-tagger",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", side, side, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", outputs])],
        [weights, axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tags_csv(path: Path, count: int = len(TAGS)) -> Path:
    lines = ["tag_id,name,category,count"]
    lines += [f"{index},{TAGS[index % len(TAGS)]},{9 if index < 4 else 0},{100 - index}"
              for index in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def tagger_repo(folder: Path) -> Path:
    """A folder like SmilingWolf/wd-*-tagger-v3 (with extra files that must not be copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    tiny_onnx(folder / "model.onnx")
    tags_csv(folder / "selected_tags.csv")
    (folder / "README.md").write_text("# tiny tagger\n")
    (folder / "config.json").write_text("{}")
    return folder


def captioner_repo(folder: Path, processor: str = "preprocessor_config.json") -> Path:
    """A folder like Salesforce/blip-image-captioning-*, with small but well-formed files
    (transformers 5 saves ``processor_config.json`` where older versions saved
    ``preprocessor_config.json``)."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "blip", "architectures": '
                                        '["BlipForConditionalGeneration"]}')
    (folder / processor).write_text('{"image_size": 384}')
    (folder / "tokenizer_config.json").write_text('{"do_lower_case": true}')
    (folder / "special_tokens_map.json").write_text('{"pad_token": "[PAD]"}')
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\na\npicture\nof\n")
    save_file({"weight": np.ones((4, 4), dtype=np.float32)}, str(folder / "model.safetensors"))
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tagger_spec(name: str, repo: Path, **changes: Any) -> registry.ModelSpec:
    """A registry entry for the tiny tagger in ``repo``, with its real checksum and size."""
    onnx_file = repo / "model.onnx"
    spec = registry.ModelSpec(
        name, "tagger", "wd14", "apache-2.0",
        (registry.FileSpec("model.onnx", sha256(onnx_file), onnx_file.stat().st_size),
         registry.FileSpec("selected_tags.csv")),
        repo_id=f"test/{name}", revision="0" * 40, thresholds={"general": 0.35})
    return replace(spec, **changes)


def zip_repo(folder: Path, archive: Path, wrap: str | None = "repo",
             extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(folder.iterdir()):
            zipped.write(path, f"{wrap}/{path.name}" if wrap else path.name)
        for name, data in (extra or {}).items():
            zipped.writestr(name, data)
    return archive


def tar_repo(folder: Path, archive: Path, wrap: str | None = "repo",
             extra: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(archive, "w:gz") as tarred:
        for path in sorted(folder.iterdir()):
            tarred.add(path, f"{wrap}/{path.name}" if wrap else path.name)
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tarred.addfile(info, io.BytesIO(data))
    return archive


def entries(models_dir: Path) -> list[str]:
    """Everything in the models folder, hidden staging folders included."""
    return sorted(path.name for path in models_dir.iterdir()) if models_dir.exists() else []


def fake_hub(monkeypatch: pytest.MonkeyPatch, repos: Path,
             fail: Exception | None = None) -> list[dict[str, Any]]:
    """Serve ``huggingface_hub.hf_hub_download`` from ``repos/<owner>/<name>/<file>``.

    The Hugging Face hub cannot be reached from the machines these tests run on, so
    only the download call is replaced (or made to fail like a dead network with
    ``fail``); everything after it (checksums, loading, installing) is the real code.
    """
    import huggingface_hub

    calls: list[dict[str, Any]] = []

    def download(repo_id: str, filename: str, **kwargs: Any) -> str:
        calls.append({"repo_id": repo_id, "filename": filename, **kwargs})
        if fail is not None:
            raise fail
        target = Path(kwargs["local_dir"]) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repos / repo_id / filename, target)
        return str(target)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    return calls


Known = Callable[[registry.ModelSpec], None]


def add_known(monkeypatch: pytest.MonkeyPatch) -> Known:
    """Put an entry into the registry for one test."""
    def add(spec: registry.ModelSpec) -> None:
        monkeypatch.setitem(registry.KNOWN, spec.name, spec)

    return add
