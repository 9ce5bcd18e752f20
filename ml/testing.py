"""Tiny stand-ins for the real models, built in a second with no download.

Model hubs are out of reach on development and CI machines, so tests build
models with the same contract as the real ones:

* ``build_tiny_wd14``: a WD14-shaped ONNX graph (input ``input``,
  ``[batch, size, size, 3]`` float32 BGR 0–255, sigmoid output ``output``
  over a small ``selected_tags.csv``). Its outputs depend on the pixels:
  channel means → one linear layer → sigmoid, so a red picture is tagged
  ``red theme`` and rated sensitive, a blue one ``blue theme`` and
  ``hatsune miku`` and rated general. ``TINY_WD14_WEIGHTS`` lists the layer.
* ``build_tiny_blip``: a BLIP with a few-hundred-unit config, seeded random
  weights and a BERT tokenizer over a small vocabulary, saved with
  ``save_pretrained`` so it loads like a real model folder.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

# name, category, weights on the (blue, green, red) means in 0–1, bias.
TINY_WD14_WEIGHTS: tuple[tuple[str, int, tuple[float, float, float], float], ...] = (
    ("general", 9, (0.0, 0.0, 0.0), 1.0),
    ("sensitive", 9, (0.0, 0.0, 3.0), -1.0),
    ("questionable", 9, (0.0, 0.0, 0.0), -3.0),
    ("explicit", 9, (0.0, 0.0, 0.0), -4.0),
    ("red_theme", 0, (-6.0, -6.0, 6.0), -2.0),
    ("blue_theme", 0, (6.0, -6.0, -6.0), -2.0),
    ("^_^", 0, (0.0, 0.0, 0.0), 0.5),
    ("simple_background", 0, (0.0, 0.0, 0.0), -0.2),
    ("1girl", 0, (0.0, 0.0, 0.0), -2.0),
    ("hatsune_miku", 4, (4.0, 0.0, -4.0), 0.0),
    ("kagamine_rin", 4, (0.0, 0.0, 0.0), 0.0),
)

BLIP_WORDS = (
    "a", "an", "the", "of", "on", "in", "with", "and", "picture", "photo", "photography",
    "painting", "drawing", "red", "blue", "green", "white", "black", "cat", "dog", "man",
    "woman", "girl", "sky", "tree", "house", "sitting", "standing", "next", "to", "small",
    "large",
)


def write_tags_csv(path: Path, rows: Iterable[tuple[str, int]]) -> Path:
    """A ``selected_tags.csv`` with SmilingWolf's columns; counts are made up."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        for index, (name, category) in enumerate(rows):
            writer.writerow([1000 + index, name, category, 10_000 - index])
    return path


def tiny_wd14_expected(bgr_means: np.ndarray) -> np.ndarray:
    """What the tiny model outputs for ``(N, 3)`` BGR channel means in 0–255."""
    weights, bias = _tiny_wd14_layer()
    return np.asarray(1 / (1 + np.exp(-(bgr_means / 255 @ weights + bias))))


def _tiny_wd14_layer() -> tuple[np.ndarray, np.ndarray]:
    weights = np.array([row[2] for row in TINY_WD14_WEIGHTS], dtype=np.float32).T
    bias = np.array([row[3] for row in TINY_WD14_WEIGHTS], dtype=np.float32)
    return weights, bias


def build_tiny_wd14(folder: Path, size: int = 448) -> Path:
    """Write ``model.onnx`` and ``selected_tags.csv`` into ``folder``; return ``folder``."""
    from onnx import TensorProto, helper, numpy_helper, save_model

    folder.mkdir(parents=True, exist_ok=True)
    weights, bias = _tiny_wd14_layer()
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["means"], axes=[1, 2], keepdims=0),
        helper.make_node("Mul", ["means", "scale"], ["unit"]),
        helper.make_node("MatMul", ["unit", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(1 / 255, dtype=np.float32), "scale"),
        numpy_helper.from_array(weights, "weights"),
        numpy_helper.from_array(bias, "bias"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_wd14",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", size, size, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                       ["batch", len(TINY_WD14_WEIGHTS)])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="salon-tests")
    model.ir_version = 8
    save_model(model, str(folder / "model.onnx"))
    write_tags_csv(folder / "selected_tags.csv",
                   ((name, category) for name, category, _, _ in TINY_WD14_WEIGHTS))
    return folder


def build_tiny_blip(folder: Path, *, image_size: int = 32, seed: int = 0) -> Path:
    """Save a tiny BLIP captioner (model, processor, tokenizer) into ``folder``."""
    import torch
    from transformers import BlipForConditionalGeneration, BlipProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tiny_bert_tokenizer(folder)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = BlipForConditionalGeneration(_tiny_blip_config(tokenizer, image_size))
    model.save_pretrained(folder)
    BlipProcessor(image_processor=_tiny_image_processor(image_size),
                  tokenizer=tokenizer).save_pretrained(folder)
    return folder


def _tiny_bert_tokenizer(folder: Path) -> Any:
    from transformers import BertTokenizer

    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]",
                                *BLIP_WORDS]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(vocab))
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})  # BLIP's decoder start token
    return tokenizer


def _tiny_image_processor(image_size: int) -> Any:
    from transformers import BlipImageProcessorPil

    return BlipImageProcessorPil(size={"height": image_size, "width": image_size})


def _tiny_blip_config(tokenizer: Any, image_size: int) -> Any:
    from transformers import BlipConfig

    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2, "initializer_range": 0.2}
    vision = {**small, "image_size": image_size, "patch_size": 8}
    text = {**small, "vocab_size": len(tokenizer), "encoder_hidden_size": 32,
            "max_position_embeddings": 128, "bos_token_id": tokenizer.bos_token_id,
            "pad_token_id": tokenizer.pad_token_id, "sep_token_id": tokenizer.sep_token_id,
            "eos_token_id": tokenizer.sep_token_id}
    return BlipConfig(vision_config=vision, text_config=text, projection_dim=32)
