"""Generation settings from the text AI tools write into their pictures.

Automatic1111/Forge ``parameters`` (prompt, ``Negative prompt:``, then one
line of ``Key: value`` pairs), ComfyUI's ``prompt`` graph (followed from the
sampler node through its links, with a depth bound), and NovelAI's
``Comment`` JSON, all into one shape. Malformed input never raises: the
result simply lacks what could not be read.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

log = logging.getLogger(__name__)

TEXT_LIMIT = 1 << 20  # characters of text kept per file, all chunks together


def finite_number(value: Any) -> float | None:
    """A finite float from a number, a numeric string or an EXIF rational (tuple)."""
    if isinstance(value, tuple) and value:
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


# --- generation settings -----------------------------------------------------------------


def parse_generation(text: dict[str, str]) -> dict[str, Any] | None:
    """The recipe in one shape, from whichever tool wrote it; None if none did."""
    software = text.get("Software", "")
    if software.strip().lower().startswith("novelai") and ("Comment" in text
                                                            or "Description" in text):
        return parse_novelai(text)
    parameters = text.get("parameters")
    if parameters and not parameters.lstrip().startswith("{"):
        return parse_a1111(parameters)
    if "workflow" in text or text.get("prompt", "").lstrip().startswith("{"):
        return parse_comfyui(text.get("prompt", ""))
    comment = text.get("UserComment", "")
    if _SETTINGS_LINE.search(comment):
        return parse_a1111(comment)
    return None


_SETTINGS_LINE = re.compile(r"^Steps: ", re.MULTILINE)
_A1111_KEYS = {"Steps": "steps", "Sampler": "sampler", "Schedule type": "scheduler",
               "CFG scale": "cfg_scale", "Seed": "seed", "Model hash": "model_hash",
               "Model": "model"}


def parse_a1111(parameters: str) -> dict[str, Any]:
    """Prompt lines, ``Negative prompt:`` lines, then ``Steps: 20, Sampler: ...``."""
    lines = parameters.strip().replace("\r\n", "\n").split("\n")
    settings_at = max((i for i, line in enumerate(lines) if line.startswith("Steps: ")),
                      default=len(lines))
    result: dict[str, Any] = {"tool": "a1111", **_prompts(lines[:settings_at])}
    extra: dict[str, Any] = {}
    for line in lines[settings_at:]:
        for key, value in settings_pairs(line):
            _store_a1111(result, extra, key, value)
    if extra:
        result["extra"] = extra
    return result


def _prompts(lines: list[str]) -> dict[str, str]:
    prompt: list[str] = []
    negative: list[str] = []
    target = prompt
    for line in lines:
        if line.startswith("Negative prompt:"):
            target, line = negative, line.removeprefix("Negative prompt:").lstrip()
        target.append(line)
    found = {"prompt": "\n".join(prompt).strip(), "negative_prompt": "\n".join(negative).strip()}
    return {key: value for key, value in found.items() if value}


def _store_a1111(result: dict[str, Any], extra: dict[str, Any], key: str, value: str) -> None:
    name = _A1111_KEYS.get(key)
    if key == "Size" and re.fullmatch(r"\d+x\d+", value):
        result["width"], result["height"] = (int(part) for part in value.split("x"))
    elif name in ("steps", "seed") and re.fullmatch(r"-?\d+", value):
        result[name] = int(value)
    elif name == "cfg_scale" and isinstance(number := as_number(value), int | float):
        result[name] = number
    elif name in ("sampler", "scheduler", "model_hash", "model"):
        result[name] = value
    else:
        extra[key] = as_number(value)


def settings_pairs(line: str) -> list[tuple[str, str]]:
    """``Key: value, Key: "quoted, value"`` → pairs; a piece without a key continues a value."""
    pairs: list[tuple[str, str]] = []
    for piece in _split_unquoted(line):
        key, sep, value = piece.partition(":")
        if sep and key.strip() and '"' not in key:
            pairs.append((key.strip(), _unquote(value.strip())))
        elif pairs and piece.strip():
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]},{piece}")
    return pairs


def _split_unquoted(line: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in line:
        if char == "," and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = quoted
        elif char == '"':
            quoted = not quoted
    pieces.append("".join(current))
    return pieces


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value[1:-1]
        return decoded if isinstance(decoded, str) else value[1:-1]
    return value


def as_number(value: str) -> int | float | str:
    """``"7"`` → 7, ``"0.5"`` → 0.5, anything else unchanged."""
    if re.fullmatch(r"[-+]?\d{1,30}", value):
        return int(value)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)(e[-+]?\d+)?", value, re.IGNORECASE):
        number = float(value)
        return number if math.isfinite(number) else value
    return value


_NOVELAI_KEYS = {"steps": "steps", "scale": "cfg_scale", "seed": "seed", "sampler": "sampler",
                 "noise_schedule": "scheduler", "width": "width", "height": "height",
                 "uc": "negative_prompt", "prompt": "prompt"}


def parse_novelai(text: dict[str, str]) -> dict[str, Any]:
    """``Comment`` JSON (prompt, uc, steps, scale, seed, sampler…); ``Description`` = prompt."""
    result: dict[str, Any] = {"tool": "novelai"}
    if text.get("Description", "").strip():
        result["prompt"] = text["Description"].strip()
    if text.get("Source", "").strip():
        result["model"] = text["Source"].strip()
    try:
        comment = json.loads(text.get("Comment", ""))
    except ValueError:
        comment = None
    if isinstance(comment, dict):
        _store_novelai(result, comment)
    return result


def _store_novelai(result: dict[str, Any], comment: dict[str, Any]) -> None:
    extra: dict[str, Any] = {}
    for key, value in comment.items():
        if not isinstance(value, str | int | float | bool) or value == "":
            continue
        name = _NOVELAI_KEYS.get(key)
        if name is None:
            extra[key] = value
        elif name in ("prompt", "negative_prompt", "sampler", "scheduler"):
            result[name] = str(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            result[name] = value
    if extra:
        result["extra"] = extra


# --- ComfyUI -----------------------------------------------------------------------------
# API-format graph: {node_id: {"class_type": ..., "inputs": {name: literal | [node_id, out]}}}

MAX_DEPTH = 24
_HELPERS = ("noise", "guider", "sampler", "sigmas")  # SamplerCustomAdvanced's parameter nodes
_LITERALS = ("value", "seed", "int", "float", "number", "string", "text")
_TEXT_INPUTS = ("text", "text_g", "text_l", "clip_l", "t5xxl", "prompt")
_MODEL_FILES = ("ckpt_name", "unet_name", "model_name")
_MODEL_SUFFIX = re.compile(r"\.(safetensors|ckpt|pt|pth|bin|gguf|sft)$", re.IGNORECASE)
Graph = dict[str, dict[str, Any]]


def parse_comfyui(prompt_json: str) -> dict[str, Any]:
    """Sampler settings, prompts and model of the main sampler in a ComfyUI graph."""
    result: dict[str, Any] = {"tool": "comfyui"}
    try:
        raw = json.loads(prompt_json)
    except ValueError:
        return result
    graph = _graph(raw)
    samplers = [node for node in graph.values() if _is_sampler(node)]
    if not samplers:
        return result
    sampler = min(samplers, key=lambda node: _sampler_rank(graph, node))
    result.update(_sampler_settings(graph, sampler))
    result.update(_prompt_texts(graph, sampler))
    extra = _model(graph, sampler, result)
    if len(samplers) > 1:
        extra["samplers"] = len(samplers)
    if extra:
        result["extra"] = extra
    return result


def _graph(raw: Any) -> Graph:
    if not isinstance(raw, dict):
        return {}
    return {str(key): node for key, node in raw.items()
            if isinstance(node, dict) and isinstance(node.get("inputs"), dict)}


def _is_sampler(node: dict[str, Any]) -> bool:
    kind = str(node.get("class_type", "")).lower()
    inputs = node["inputs"]
    return "sampler" in kind and ("positive" in inputs or "guider" in inputs)


def _sampler_rank(graph: Graph, node: dict[str, Any]) -> tuple[bool, bool, bool]:
    """The first pass beats refiners and hires fixes: full denoise, step 0, empty latent."""
    denoise = finite_number(_literal(graph, _find(graph, node, "denoise"), ("denoise",)))
    start = finite_number(_literal(graph, node["inputs"].get("start_at_step"), ("start_at_step",)))
    size = _latent_size(graph, node)
    return (denoise is not None and denoise < 0.99, bool(start), size is None)


def _linked(graph: Graph, value: Any) -> dict[str, Any] | None:
    """The node a ``[node_id, output_index]`` input points at."""
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)
            and isinstance(value[1], int)):
        return graph.get(str(value[0]))
    return None


def _find(graph: Graph, node: dict[str, Any], name: str, depth: int = 0) -> Any:
    """Input ``name`` of ``node``, or of the noise/guider/sampler/sigmas nodes it uses."""
    inputs = node["inputs"]
    if name in inputs:
        return inputs[name]
    for helper in (_linked(graph, inputs.get(via)) for via in _HELPERS):
        if helper is not None and depth < 3:
            found = _find(graph, helper, name, depth + 1)
            if found is not None:
                return found
    return None


def _literal(graph: Graph, value: Any, names: tuple[str, ...], depth: int = 0) -> Any:
    """A literal input, or the literal a link leads to (seed, primitive and string nodes)."""
    node = _linked(graph, value)
    if node is None:
        return None if isinstance(value, list | dict) else value
    if depth >= MAX_DEPTH:
        return None
    for name in (*names, *_LITERALS):
        if name in node["inputs"]:
            return _literal(graph, node["inputs"][name], names, depth + 1)
    return None


def _sampler_settings(graph: Graph, sampler: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    wanted = {"seed": ("seed", "noise_seed"), "steps": ("steps",), "cfg_scale": ("cfg",),
              "sampler": ("sampler_name",), "scheduler": ("scheduler",)}
    for field, names in wanted.items():
        for name in names:
            value = _literal(graph, _find(graph, sampler, name), names)
            if _fits(field, value):
                settings[field] = value
                break
    size = _latent_size(graph, sampler)
    if size is not None:
        settings["width"], settings["height"] = size
    return settings


def _fits(field: str, value: Any) -> bool:
    if field in ("sampler", "scheduler"):
        return isinstance(value, str) and bool(value)
    if field == "cfg_scale":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool)


def _latent_size(graph: Graph, sampler: dict[str, Any]) -> tuple[int, int] | None:
    """Width and height of the empty latent the sampler starts from, through latent ops."""
    node = _linked(graph, _find(graph, sampler, "latent_image"))
    for _ in range(MAX_DEPTH):
        if node is None:
            return None
        width = _literal(graph, node["inputs"].get("width"), ("width",))
        height = _literal(graph, node["inputs"].get("height"), ("height",))
        if isinstance(width, int) and isinstance(height, int):
            return width, height
        node = _linked(graph, node["inputs"].get("samples", node["inputs"].get("latent")))
    return None


def _prompt_texts(graph: Graph, sampler: dict[str, Any]) -> dict[str, str]:
    texts = {}
    positive = _find(graph, sampler, "positive")
    if positive is None:
        positive = _find(graph, sampler, "conditioning")  # BasicGuider (Flux)
    for field, polarity, link in (("prompt", "positive", positive),
                                  ("negative_prompt", "negative",
                                   _find(graph, sampler, "negative"))):
        found = _conditioning_texts(graph, link, polarity, set(), 0)
        joined = "\n".join(dict.fromkeys(text.strip() for text in found if text.strip()))
        if joined:
            texts[field] = joined[:TEXT_LIMIT]
    return texts


def _conditioning_texts(graph: Graph, link: Any, polarity: str, seen: set[int],
                        depth: int) -> list[str]:
    """Texts of the text encoders behind a conditioning link (combine, concat, control nets…)."""
    node = _linked(graph, link)
    if node is None or depth > MAX_DEPTH or id(node) in seen:
        return []
    seen.add(id(node))
    if node.get("class_type") == "ConditioningZeroOut":
        return []  # an empty negative, even though its input is the positive prompt
    inputs = node["inputs"]
    texts = [_literal(graph, inputs[name], (name,)) for name in _TEXT_INPUTS if name in inputs]
    found = [text for text in texts if isinstance(text, str)]
    if found:
        return found
    for name, value in inputs.items():
        if name == polarity or "conditioning" in name or name == "cond":
            found += _conditioning_texts(graph, value, polarity, seen, depth + 1)
    return found


def _model(graph: Graph, sampler: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Follow ``model`` links through LoRA loaders and patches to the checkpoint loader."""
    loras: list[dict[str, Any]] = []
    node = _linked(graph, _find(graph, sampler, "model"))
    for _ in range(MAX_DEPTH):
        if node is None:
            break
        loras += _loras(node["inputs"])
        names = [node["inputs"].get(key) for key in _MODEL_FILES]
        file = next((name for name in names if isinstance(name, str) and name), None)
        if file is not None:
            result["model"] = _MODEL_SUFFIX.sub("", re.split(r"[\\/]", file)[-1])
            return {"model_file": file, **({"loras": loras} if loras else {})}
        node = _linked(graph, node["inputs"].get("model"))
    return {"loras": loras} if loras else {}


def _loras(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    if isinstance(inputs.get("lora_name"), str):
        strength = inputs.get("strength_model")
        found.append({"name": inputs["lora_name"],
                      **({"strength": strength} if isinstance(strength, int | float) else {})})
    for value in inputs.values():  # rgthree's Power Lora Loader: {"on", "lora", "strength"}
        if isinstance(value, dict) and isinstance(value.get("lora"), str) and value.get("on"):
            strength = value.get("strength")
            found.append({"name": value["lora"],
                          **({"strength": strength} if isinstance(strength, int | float) else {})})
    return found
