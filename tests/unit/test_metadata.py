"""Metadata: camera EXIF, GPS, PNG text chunks, and A1111 / ComfyUI / NovelAI recipes."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

from app.media import metadata
from app.media.generation import parse_a1111, parse_comfyui, settings_pairs
from app.media.metadata import TEXT_LIMIT, extract_metadata
from tests.unit.media_helpers import encode, insert_chunk, photo, png_chunk

A1111 = (
    "masterpiece, best quality, a cat sitting on a windowsill,\n"
    "golden hour lighting <lora:catStyle:0.8>\n"
    "Negative prompt: lowres, bad anatomy,\n"
    "blurry, watermark\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, Schedule type: Karras, CFG scale: 7, "
    "Seed: 1234567890, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
    "Denoising strength: 0.45, Clip skip: 2, "
    'Lora hashes: "catStyle: a1b2c3d4e5f6, other: 0123456789ab", Hires upscale: 1.5, '
    'Hires upscaler: Latent, TI hashes: "easynegative: c74b4e810b03", Version: v1.7.0'
)
A1111_EXPECTED: dict[str, Any] = {
    "tool": "a1111",
    "prompt": "masterpiece, best quality, a cat sitting on a windowsill,\n"
              "golden hour lighting <lora:catStyle:0.8>",
    "negative_prompt": "lowres, bad anatomy,\nblurry, watermark",
    "steps": 28, "sampler": "DPM++ 2M Karras", "scheduler": "Karras", "cfg_scale": 7,
    "seed": 1234567890, "width": 512, "height": 768, "model_hash": "6ce0161689",
    "model": "v1-5-pruned-emaonly",
    "extra": {"Denoising strength": 0.45, "Clip skip": 2,
              "Lora hashes": "catStyle: a1b2c3d4e5f6, other: 0123456789ab",
              "Hires upscale": 1.5, "Hires upscaler": "Latent",
              "TI hashes": "easynegative: c74b4e810b03", "Version": "v1.7.0"},
}


def _png(tmp_path: Path, **texts: str) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    path = tmp_path / "image.png"
    photo("coffee").save(path, "PNG", pnginfo=info)
    return path


def _no_decoding(self: Image.Image) -> None:
    raise AssertionError("metadata extraction decoded pixels")


def test_a1111_parameters_from_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _png(tmp_path, parameters=A1111)
    monkeypatch.setattr(Image.Image, "load", _no_decoding)
    result = extract_metadata(path, "image/png")
    assert result["generation"] == A1111_EXPECTED
    assert result["text"] == {"parameters": A1111}
    json.dumps(result)  # simple JSON types only


def test_a1111_without_negative_prompt_or_settings() -> None:
    assert parse_a1111("a watercolour fox\nSteps: 20, Seed: -1, CFG scale: 4.5") == {
        "tool": "a1111", "prompt": "a watercolour fox", "steps": 20, "seed": -1,
        "cfg_scale": 4.5}
    assert parse_a1111("just a prompt") == {"tool": "a1111", "prompt": "just a prompt"}


def test_a1111_lines_after_the_settings_and_escaped_quotes() -> None:
    text = ('cat\nSteps: 10, Sampler: Euler a, Note: "say \\"hi\\", twice"\n'
            "Template: {cat|dog}")
    result = parse_a1111(text)
    assert result["sampler"] == "Euler a"
    assert result["extra"] == {"Note": 'say "hi", twice', "Template": "{cat|dog}"}


def test_settings_pairs_keep_unquoted_commas_with_their_value() -> None:
    assert settings_pairs("Steps: 5, ControlNet 0: Module: canny, Model: x, Seed: 1") == [
        ("Steps", "5"), ("ControlNet 0", "Module: canny"), ("Model", "x"), ("Seed", "1")]
    assert settings_pairs("A: 1, stray words, B: 2") == [("A", "1, stray words"), ("B", "2")]


def _exif_with_comment(comment: bytes) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = comment
    return exif.tobytes()


@pytest.mark.parametrize(("fmt", "mime", "comment"), [
    ("JPEG", "image/jpeg", b"UNICODE\x00" + (A1111 + " ☕ café").encode("utf-16-be")),
    ("WEBP", "image/webp", b"UNICODE\x00" + (A1111 + " ☕ café").encode("utf-16-le")),
    ("JPEG", "image/jpeg", b"UNICODE\x00" + (A1111 + " ☕ café").encode("utf-16")),  # BOM
    ("JPEG", "image/jpeg", b"ASCII\x00\x00\x00" + (A1111 + " ☕ café").encode()),
])
def test_a1111_parameters_from_exif_user_comment(tmp_path: Path, fmt: str, mime: str,
                                                 comment: bytes) -> None:
    path = tmp_path / "image"
    photo("chelsea").save(path, fmt, exif=_exif_with_comment(comment))
    result = extract_metadata(path, mime)
    assert result["text"]["UserComment"] == A1111 + " ☕ café"
    expected = {**A1111_EXPECTED, "extra": {**A1111_EXPECTED["extra"],
                                            "Version": "v1.7.0 ☕ café"}}
    assert result["generation"] == expected


def test_an_ordinary_camera_comment_is_not_a_recipe(tmp_path: Path) -> None:
    path = tmp_path / "image.jpg"
    photo("chelsea").save(path, "JPEG",
                          exif=_exif_with_comment(b"ASCII\x00\x00\x00Shot on my phone"))
    result = extract_metadata(path, "image/jpeg")
    assert result["text"] == {"UserComment": "Shot on my phone"}
    assert result["generation"] is None


def _link(node: str) -> list[Any]:
    return [node, 0]


COMFY_SDXL = {
    "4": {"class_type": "CheckpointLoaderSimple",
          "inputs": {"ckpt_name": "SDXL/juggernautXL_v9.safetensors"}},
    "10": {"class_type": "LoraLoader",
           "inputs": {"model": _link("4"), "clip": ["4", 1], "strength_model": 0.8,
                      "lora_name": "add-detail-xl.safetensors", "strength_clip": 0.8}},
    "11": {"class_type": "LoraLoader",
           "inputs": {"model": _link("10"), "clip": ["10", 1], "strength_model": 0.5,
                      "lora_name": "film_grain.safetensors", "strength_clip": 1.0}},
    "12": {"class_type": "ModelSamplingDiscrete",
           "inputs": {"model": _link("11"), "sampling": "eps", "zsnr": False}},
    "6": {"class_type": "CLIPTextEncode",
          "inputs": {"text": "a lighthouse on a cliff at dusk", "clip": ["11", 1]}},
    "20": {"class_type": "String Literal", "inputs": {"string": "dramatic clouds"}},
    "13": {"class_type": "CLIPTextEncode", "inputs": {"text": _link("20"), "clip": ["11", 1]}},
    "14": {"class_type": "ConditioningCombine",
           "inputs": {"conditioning_1": _link("6"), "conditioning_2": _link("13")}},
    "7": {"class_type": "CLIPTextEncode",
          "inputs": {"text": "blurry, lowres, text", "clip": ["11", 1]}},
    "5": {"class_type": "EmptyLatentImage",
          "inputs": {"width": 1024, "height": 1216, "batch_size": 1}},
    "25": {"class_type": "Seed (rgthree)", "inputs": {"seed": 987654321}},
    "31": {"class_type": "KSampler",
           "inputs": {"seed": 1, "steps": 15, "cfg": 5, "sampler_name": "euler",
                      "scheduler": "normal", "denoise": 0.45, "model": _link("12"),
                      "positive": _link("14"), "negative": _link("7"),
                      "latent_image": _link("30")}},
    "3": {"class_type": "KSampler",
          "inputs": {"seed": _link("25"), "steps": 30, "cfg": 6.5, "sampler_name": "dpmpp_2m",
                     "scheduler": "karras", "denoise": 1.0, "model": _link("12"),
                     "positive": _link("14"), "negative": _link("7"),
                     "latent_image": _link("5")}},
    "30": {"class_type": "LatentUpscaleBy",
           "inputs": {"samples": _link("3"), "upscale_method": "nearest-exact",
                      "scale_by": 1.5}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": _link("31"), "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage",
          "inputs": {"filename_prefix": "ComfyUI", "images": _link("8")}},
}

COMFY_FLUX = {
    "1": {"class_type": "UNETLoader",
          "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"}},
    "2": {"class_type": "DualCLIPLoader",
          "inputs": {"clip_name1": "t5xxl_fp16.safetensors", "clip_name2": "clip_l.safetensors",
                     "type": "flux"}},
    "15": {"class_type": "LoraLoaderModelOnly",
           "inputs": {"model": _link("1"), "lora_name": "fox-style.safetensors",
                      "strength_model": 1}},
    "3": {"class_type": "CLIPTextEncode",
          "inputs": {"text": "a red fox in the snow", "clip": _link("2")}},
    "4": {"class_type": "FluxGuidance", "inputs": {"conditioning": _link("3"), "guidance": 3.5}},
    "11": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": _link("3")}},
    "5": {"class_type": "CFGGuider",
          "inputs": {"model": _link("15"), "positive": _link("4"), "negative": _link("11"),
                     "cfg": 1.0}},
    "6": {"class_type": "RandomNoise", "inputs": {"noise_seed": 42}},
    "7": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
    "8": {"class_type": "BasicScheduler",
          "inputs": {"model": _link("15"), "scheduler": "simple", "steps": 20, "denoise": 1}},
    "9": {"class_type": "EmptySD3LatentImage",
          "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
    "10": {"class_type": "SamplerCustomAdvanced",
           "inputs": {"noise": _link("6"), "guider": _link("5"), "sampler": _link("7"),
                      "sigmas": _link("8"), "latent_image": _link("9")}},
}


def test_comfyui_graph_with_loras_and_a_hires_pass(tmp_path: Path) -> None:
    workflow = json.dumps({"nodes": [{"id": 3, "type": "KSampler"}], "links": []})
    path = _png(tmp_path, prompt=json.dumps(COMFY_SDXL), workflow=workflow)
    result = extract_metadata(path, "image/png")
    assert result["generation"] == {
        "tool": "comfyui", "seed": 987654321, "steps": 30, "cfg_scale": 6.5,
        "sampler": "dpmpp_2m", "scheduler": "karras", "width": 1024, "height": 1216,
        "prompt": "a lighthouse on a cliff at dusk\ndramatic clouds",
        "negative_prompt": "blurry, lowres, text", "model": "juggernautXL_v9",
        "extra": {"model_file": "SDXL/juggernautXL_v9.safetensors", "samplers": 2,
                  "loras": [{"name": "film_grain.safetensors", "strength": 0.5},
                            {"name": "add-detail-xl.safetensors", "strength": 0.8}]},
    }
    assert result["text"]["workflow"] == workflow  # kept raw, not parsed


def test_comfyui_custom_sampler_graph() -> None:
    assert parse_comfyui(json.dumps(COMFY_FLUX)) == {
        "tool": "comfyui", "seed": 42, "steps": 20, "cfg_scale": 1.0, "sampler": "euler",
        "scheduler": "simple", "width": 1024, "height": 768, "prompt": "a red fox in the snow",
        "model": "flux1-dev",
        "extra": {"model_file": "flux1-dev.safetensors",
                  "loras": [{"name": "fox-style.safetensors", "strength": 1}]},
    }


@pytest.mark.parametrize("prompt", [
    "{not json", "[1, 2, 3]", json.dumps({"3": {"class_type": "KSampler"}}),
    json.dumps({"3": {"class_type": "KSampler", "inputs": {"positive": ["3", 0],
                                                           "model": ["3", 0],
                                                           "latent_image": ["99", 0]}}}),
    json.dumps({"1": {"class_type": "KSampler", "inputs": {"positive": ["2", 0], "seed": [1]}},
                "2": {"class_type": "ConditioningCombine",
                      "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["1", 0]}}}),
])
def test_malformed_comfyui_graphs_do_not_raise(tmp_path: Path, prompt: str) -> None:
    path = _png(tmp_path, prompt=prompt, workflow="{}")
    result = extract_metadata(path, "image/png")
    assert result["generation"]["tool"] == "comfyui"
    assert "prompt" not in result["generation"] and "seed" not in result["generation"]
    assert result["text"]["prompt"] == prompt


def test_novelai(tmp_path: Path) -> None:
    comment = {"prompt": "1girl, cherry blossoms, night", "steps": 28, "height": 1216,
               "width": 832, "scale": 5.5, "uncond_scale": 0.0, "seed": 2851639744,
               "n_samples": 1, "noise_schedule": "karras", "sampler": "k_euler_ancestral",
               "uc": "lowres, bad anatomy", "request_type": "PromptGenerateRequest",
               "v4_prompt": {"caption": {"base_caption": "1girl"}}}
    path = _png(tmp_path, Title="NovelAI generated image",
                Description="1girl, cherry blossoms, night", Software="NovelAI",
                Source="NovelAI Diffusion V4.5 4BDE2A90", Comment=json.dumps(comment))
    assert extract_metadata(path, "image/png")["generation"] == {
        "tool": "novelai", "prompt": "1girl, cherry blossoms, night",
        "negative_prompt": "lowres, bad anatomy", "model": "NovelAI Diffusion V4.5 4BDE2A90",
        "steps": 28, "cfg_scale": 5.5, "seed": 2851639744, "sampler": "k_euler_ancestral",
        "scheduler": "karras", "width": 832, "height": 1216,
        "extra": {"uncond_scale": 0.0, "n_samples": 1, "request_type": "PromptGenerateRequest"},
    }


def test_novelai_with_a_broken_comment_keeps_the_description(tmp_path: Path) -> None:
    path = _png(tmp_path, Description="a castle", Software="NovelAI", Comment="{broken")
    assert extract_metadata(path, "image/png")["generation"] == {"tool": "novelai",
                                                                 "prompt": "a castle"}


def test_compressed_itxt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("parameters", A1111 + " — ünïcödé", lang="en", tkey="Parameters", zip=True)
    path = tmp_path / "itxt.png"
    photo("coffee").save(path, "PNG", pnginfo=info)
    data = path.read_bytes()
    assert b"iTXt" in data and b"Negative prompt" not in data  # really compressed
    monkeypatch.setattr(Image.Image, "load", _no_decoding)
    result = extract_metadata(path, "image/png")
    assert result["text"]["parameters"] == A1111 + " — ünïcödé"
    assert result["generation"]["seed"] == 1234567890


def test_ztxt_after_the_pixel_data_is_read_without_decoding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunk = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress("caf\xe9 notes".encode(
        "latin-1")))
    path = tmp_path / "ztxt.png"
    path.write_bytes(insert_chunk(encode(photo("coffee"), "PNG"), chunk, before=b"IEND"))
    monkeypatch.setattr(Image.Image, "load", _no_decoding)
    assert extract_metadata(path, "image/png")["text"] == {"Comment": "café notes"}


def test_text_is_capped_against_zip_bombs(tmp_path: Path) -> None:
    bomb = zlib.compress(b"a" * (20 * TEXT_LIMIT), 9)
    assert len(bomb) < TEXT_LIMIT // 10
    png = encode(photo("coffee"), "PNG")
    for key in (b"first", b"second"):
        png = insert_chunk(png, png_chunk(b"zTXt", key + b"\x00\x00" + bomb), before=b"IDAT")
    path = tmp_path / "bomb.png"
    path.write_bytes(png)
    text = extract_metadata(path, "image/png")["text"]
    assert sum(map(len, text.values())) <= TEXT_LIMIT
    assert len(text["first"]) == TEXT_LIMIT and "second" not in text


def test_a_chunk_with_a_bad_checksum_is_skipped(tmp_path: Path) -> None:
    good = png_chunk(b"tEXt", b"good\x00yes")
    bad = bytearray(png_chunk(b"tEXt", b"bad\x00no"))
    bad[-1] ^= 0xFF
    path = tmp_path / "crc.png"
    path.write_bytes(insert_chunk(encode(photo("coffee"), "PNG"), good + bytes(bad),
                                  before=b"IDAT"))
    assert extract_metadata(path, "image/png")["text"] == {"good": "yes"}


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif.update({0x010F: "Canon", 0x0110: "Canon EOS R5", 0x0131: "Adobe Lightroom",
                 0x0112: 1})
    exif.get_ifd(0x8769).update({
        0x829A: IFDRational(1, 250), 0x829D: IFDRational(28, 10), 0x8827: 400,
        0x920A: IFDRational(35, 1), 0x9003: "2023:05:01 14:30:15", 0x9011: "+02:00",
        0xA434: "RF24-105mm F4 L IS USM"})
    return exif


def test_camera_exif(tmp_path: Path) -> None:
    path = tmp_path / "camera.jpg"
    photo("astronaut").save(path, "JPEG", exif=_camera_exif().tobytes())
    result = extract_metadata(path, "image/jpeg")
    assert result["exif"] == {
        "make": "Canon", "model": "Canon EOS R5", "lens": "RF24-105mm F4 L IS USM",
        "exposure_time": "1/250", "f_number": 2.8, "iso": 400, "focal_length": 35.0,
        "taken_at": "2023-05-01T14:30:15+02:00", "orientation": 1,
        "software": "Adobe Lightroom"}
    assert result["gps"] is None and result["generation"] is None
    json.dumps(result)


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("WEBP", "image/webp"),
                                           ("TIFF", "image/tiff"), ("AVIF", "image/avif")])
def test_exif_in_other_formats(tmp_path: Path, fmt: str, mime: str) -> None:
    path = tmp_path / "image"
    photo("astronaut").save(path, fmt, exif=_camera_exif().tobytes())
    exif = extract_metadata(path, mime)["exif"]
    assert (exif["model"], exif["exposure_time"], exif["iso"]) == ("Canon EOS R5", "1/250", 400)


def _gps_exif(latitude: tuple[str, tuple[float, ...]], longitude: tuple[str, tuple[float, ...]],
              altitude: tuple[bytes, float] | None) -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: latitude[0], 2: tuple(IFDRational(v) for v in latitude[1]),
                3: longitude[0], 4: tuple(IFDRational(v) for v in longitude[1])})
    if altitude is not None:
        gps.update({5: altitude[0], 6: IFDRational(altitude[1])})
    return exif.tobytes()


@pytest.mark.parametrize(("latitude", "longitude", "altitude", "expected"), [
    (("N", (48, 51, 29.6)), ("E", (2, 17, 40.2)), (b"\x00", 35.5),
     {"latitude": 48.8582222, "longitude": 2.2945, "altitude": 35.5}),
    (("S", (33, 51, 25.2)), ("W", (70, 39, 0)), (b"\x01", 12.25),
     {"latitude": -33.857, "longitude": -70.65, "altitude": -12.25}),
    (("N", (35.6586, 0, 0)), ("E", (139.7454, 0, 0)), None,
     {"latitude": 35.6586, "longitude": 139.7454, "altitude": None}),
])
def test_gps_becomes_decimal_degrees(tmp_path: Path, latitude: Any, longitude: Any,
                                     altitude: Any, expected: dict[str, Any]) -> None:
    path = tmp_path / "gps.jpg"
    photo("chelsea").save(path, "JPEG", exif=_gps_exif(latitude, longitude, altitude))
    gps = extract_metadata(path, "image/jpeg")["gps"]
    assert gps == pytest.approx(expected, abs=1e-6)


def test_impossible_gps_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "gps.jpg"
    photo("chelsea").save(path, "JPEG", exif=_gps_exif(("N", (123, 0, 0)), ("E", (2, 0, 0)),
                                                       None))
    assert extract_metadata(path, "image/jpeg")["gps"] is None


def test_odd_exif_values_are_skipped(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.update({0x010F: "  \x00", 0x0112: 42})
    exif.get_ifd(0x8769).update({0x829A: IFDRational(0, 0), 0x9003: "0000:00:00 00:00:00",
                                 0x8827: 0, 0x829D: IFDRational(-1, 1)})
    path = tmp_path / "odd.jpg"
    photo("chelsea").save(path, "JPEG", exif=exif.tobytes())
    assert extract_metadata(path, "image/jpeg")["exif"] == {}


def test_corrupt_exif_does_not_raise(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.png"
    chunk = png_chunk(b"eXIf", b"MM\x00*\x00\x00\x00\x08\x00\x05\x01\x0f\x00\x02")
    path.write_bytes(insert_chunk(encode(photo("coffee"), "PNG"), chunk, before=b"IDAT"))
    result = extract_metadata(path, "image/png")
    assert result["exif"] == {} and result["gps"] is None


def test_an_unreadable_file_gives_empty_metadata(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert extract_metadata(path, "image/jpeg") == {"exif": {}, "gps": None,
                                                    "generation": None, "text": {}}


def test_videos_have_no_image_metadata(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert extract_metadata(path, "video/mp4") == {"exif": {}, "gps": None,
                                                   "generation": None, "text": {}}


def test_jpeg_comment_is_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "comment.jpg"
    photo("chelsea").save(path, "JPEG", comment="made with love")
    assert extract_metadata(path, "image/jpeg")["text"] == {"comment": "made with love"}


def test_exposure_formatting() -> None:
    assert metadata._exposure(IFDRational(1, 250)) == "1/250"
    assert metadata._exposure(IFDRational(10, 2500)) == "1/250"
    assert metadata._exposure(0.6) == "0.6"
    assert metadata._exposure(IFDRational(5, 2)) == "2.5"
    assert metadata._exposure(30) == "30"
