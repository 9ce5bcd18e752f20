"""WD14 tagger: preprocessing against an independent numpy version of the reference
steps, then thresholds, MCut, the cap, names and rating on a tiny pixel-driven model."""

from __future__ import annotations

import builtins
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ml import loaded, tagger_wd14
from ml.tagger_wd14 import KAOMOJI, WD14Tagger, display_name, mcut_threshold, preprocess
from ml.testing import build_tiny_wd14, tiny_wd14_expected, write_tags_csv

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "exif-orientation"
SKIMAGE_SAMPLES = ["astronaut", "chelsea", "coffee", "rocket", "camera"]
RED, BLUE = (255, 0, 0), (0, 0, 255)


# -- an independent implementation of the reference preprocessing, numpy only --------------


def reference_pixels(image: Image.Image) -> np.ndarray:
    """RGB uint8, transparent parts composited on white (numpy arithmetic)."""
    if "A" not in image.getbands() and "transparency" not in image.info:
        return np.asarray(image.convert("RGB"))
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    alpha = rgba[:, :, 3:] / 255
    return np.rint(rgba[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)


def reference_pad(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    side = max(height, width)
    square = np.full((side, side, 3), 255, dtype=np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    square[top:top + height, left:left + width] = pixels
    return square


def cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


PRECISION_BITS = 22  # Pillow's fixed-point filter coefficients for 8-bit pictures


def resample_taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's separable bicubic filter (support widened when shrinking): for each output
    row, the input rows it reads and its fixed-point coefficients (integers, x 2**22)."""
    scale = size_in / size_out
    stretch = max(scale, 1.0)
    support = 2.0 * stretch
    width = int(np.ceil(support)) * 2 + 1
    rows = np.zeros((size_out, width), dtype=np.intp)
    coefficients = np.zeros((size_out, width))
    for out in range(size_out):
        center = (out + 0.5) * scale
        low = max(int(center - support + 0.5), 0)
        high = min(int(center + support + 0.5), size_in)
        taps = cubic((np.arange(low, high) - center + 0.5) / stretch)
        taps = taps / taps.sum() * (1 << PRECISION_BITS)
        rows[out, :high - low] = np.arange(low, high)
        coefficients[out, :high - low] = np.trunc(taps + np.where(taps < 0, -0.5, 0.5))
    return rows, coefficients


def filter_pass(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resample axis 0 of ``(h, w, c)`` to ``size``, rounded to 8 bits as Pillow does after
    each pass. Float64 holds these integer sums exactly."""
    rows, coefficients = resample_taps(pixels.shape[0], size)
    sums = np.zeros((size, *pixels.shape[1:]))
    for tap in range(rows.shape[1]):
        sums += coefficients[:, tap, None, None] * pixels[rows[:, tap]]
    return np.clip(np.floor((sums + (1 << (PRECISION_BITS - 1))) / (1 << PRECISION_BITS)),
                   0, 255)


def reference_resize(square: np.ndarray, size: int) -> np.ndarray:
    """Horizontal pass, then vertical pass, as Pillow does."""
    if square.shape[0] == size:
        return square.astype(np.float64)
    columns = filter_pass(np.ascontiguousarray(square.transpose(1, 0, 2), np.float64), size)
    return filter_pass(np.ascontiguousarray(columns.transpose(1, 0, 2)), size)


def reference_input(image: Image.Image, size: int) -> np.ndarray:
    rgb = reference_resize(reference_pad(reference_pixels(image)), size)
    return rgb[:, :, ::-1].astype(np.float32)


# -- fixtures -------------------------------------------------------------------------------


def photo_names() -> list[str]:
    return [path.name for path in sorted(FIXTURES.glob("*.jpg"))] + SKIMAGE_SAMPLES


def load_photo(name: str) -> Image.Image:
    """A fixture photo decoded by Pillow, or a scikit-image sample (camera is greyscale)."""
    from skimage import data

    if name in SKIMAGE_SAMPLES:
        return Image.fromarray(getattr(data, name)())
    with Image.open(FIXTURES / name) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_wd14(tmp_path_factory.mktemp("wd14"), size=64)


@pytest.fixture(scope="module")
def tagger(tiny_dir: Path) -> WD14Tagger:
    return WD14Tagger(tiny_dir)


@pytest.fixture(autouse=True)
def no_cached_models() -> Iterator[None]:
    yield
    loaded.unload_all()


def plain(color: tuple[int, int, int], size: tuple[int, int] = (80, 80)) -> Image.Image:
    return Image.new("RGB", size, color)


def names(pairs: list[tuple[str, float]]) -> list[str]:
    return [name for name, _ in pairs]


# -- preprocessing --------------------------------------------------------------------------


def test_fixture_photos_are_present() -> None:
    assert len(list(FIXTURES.glob("*.jpg"))) >= 10


@pytest.mark.parametrize("name", photo_names())
def test_preprocessing_matches_the_reference_steps(name: str) -> None:
    image = load_photo(name)
    tensor = preprocess(image, 448)
    assert tensor.shape == (448, 448, 3)
    assert tensor.dtype == np.float32
    assert tensor.flags.c_contiguous
    expected = reference_input(image, 448)
    assert float(np.abs(tensor - expected).max()) <= 1.0, name
    assert 100 < float(tensor.mean()) < 255  # 0–255 scale, not [0, 1]


def test_small_pictures_are_scaled_up_the_same_way() -> None:
    from skimage import data

    image = Image.fromarray(data.coffee()).resize((150, 100))
    assert float(np.abs(preprocess(image, 448) - reference_input(image, 448)).max()) <= 1.0


def test_channels_are_bgr_and_padding_is_white() -> None:
    tensor = preprocess(plain(RED, (64, 32)), 64)
    assert tensor[32, 32].tolist() == [0.0, 0.0, 255.0]  # red, as BGR
    assert tensor[0, 32].tolist() == [255.0, 255.0, 255.0]  # the white band above
    assert tensor[63, 32].tolist() == [255.0, 255.0, 255.0]


def test_rgba_is_composited_on_white() -> None:
    pixels = np.zeros((32, 64, 4), dtype=np.uint8)  # transparent black
    pixels[:, 32:] = (0, 0, 255, 255)  # opaque blue
    pixels[:8, :8] = (255, 0, 0, 128)  # half-transparent red
    image = Image.fromarray(pixels, "RGBA")
    tensor = preprocess(image, 64)
    assert tensor[16 + 20, 10].tolist() == [255.0, 255.0, 255.0]  # transparent → white
    assert tensor[16 + 20, 40].tolist() == [255.0, 0.0, 0.0]  # blue, as BGR
    assert np.allclose(tensor[16 + 2, 2], [127, 127, 255], atol=1)
    assert float(np.abs(tensor - reference_input(image, 64)).max()) <= 1.0


def test_palette_transparency_is_composited_on_white() -> None:
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (20, 0, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    buffer.seek(0)
    with Image.open(buffer) as reopened:
        reopened.load()
        assert reopened.mode == "P" and "transparency" in reopened.info
        tensor = preprocess(reopened, 40)
        expected = reference_input(reopened, 40)
    assert tensor[10, 5].tolist() == [255.0, 255.0, 255.0]
    assert tensor[10, 30].tolist() == [0.0, 0.0, 255.0]
    assert float(np.abs(tensor - expected).max()) <= 1.0


def test_an_rgb_colour_key_is_composited_too() -> None:
    image = Image.new("RGB", (20, 20), (0, 0, 0))
    image.paste((0, 255, 0), (10, 0, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=(0, 0, 0))
    buffer.seek(0)
    with Image.open(buffer) as reopened:
        reopened.load()
        assert reopened.mode == "RGB" and "transparency" in reopened.info
        tensor = preprocess(reopened, 20)
    assert tensor[5, 5].tolist() == [255.0, 255.0, 255.0]
    assert tensor[5, 15].tolist() == [0.0, 255.0, 0.0]


def test_grey_with_alpha_is_composited_too() -> None:
    image = Image.new("LA", (16, 16), (0, 0))
    assert preprocess(image, 16)[8, 8].tolist() == [255.0, 255.0, 255.0]


# -- the tiny model -------------------------------------------------------------------------


def test_input_size_comes_from_the_model(tagger: WD14Tagger) -> None:
    assert tagger.size == 64
    assert tagger.input_name == "input"


def test_red_and_blue_pictures_get_their_own_tags(tagger: WD14Tagger) -> None:
    red, blue = tagger.tag([plain(RED), plain(BLUE)])
    assert "red theme" in names(red.general) and "blue theme" not in names(red.general)
    assert "blue theme" in names(blue.general) and "red theme" not in names(blue.general)
    assert dict(red.general)["red theme"] > 0.9


def test_the_model_sees_the_reference_input(tagger: WD14Tagger) -> None:
    image = plain((200, 60, 30), (90, 50))
    means = reference_input(image, 64).mean(axis=(0, 1))
    expected = tiny_wd14_expected(means[np.newaxis])[0]
    assert np.allclose(tagger.probabilities([image])[0], expected, atol=2e-3)


def test_default_thresholds(tagger: WD14Tagger) -> None:
    red, blue = tagger.tag([plain(RED), plain(BLUE)])
    assert names(red.general) == ["red theme", "^_^", "simple background"]  # > 0.35
    assert all(value > 0.35 for _, value in red.general)
    assert red.character == []  # nothing above 0.85
    assert names(blue.character) == ["hatsune miku"]


def test_thresholds_are_settings(tagger: WD14Tagger) -> None:
    strict = tagger.configured(general_threshold=0.5, character_threshold=0.4)
    (red,) = strict.tag([plain(RED)])
    assert names(red.general) == ["red theme", "^_^"]
    assert names(red.character) == ["kagamine rin"]
    assert strict.session is tagger.session  # the same loaded model
    with pytest.raises(TypeError):
        tagger.configured(threshold=0.5)


def test_confidences_are_kept_and_sorted(tagger: WD14Tagger) -> None:
    (red,) = tagger.tag([plain(RED)])
    values = [value for _, value in red.general]
    assert values == sorted(values, reverse=True)
    assert all(isinstance(value, float) and 0 < value < 1 for value in values)
    assert red.rows()[0] == ("red theme", "general", values[0])


def test_max_tags_caps_the_general_list(tagger: WD14Tagger) -> None:
    (red,) = tagger.configured(max_tags=1).tag([plain(RED)])
    assert names(red.general) == ["red theme"]
    (red,) = tagger.configured(max_tags=2).tag([plain(RED)])
    assert names(red.general) == ["red theme", "^_^"]


def test_mcut_threshold() -> None:
    assert mcut_threshold([0.9, 0.8, 0.2, 0.1]) == pytest.approx(0.5)
    assert mcut_threshold(np.array([0.1, 0.95, 0.3])) == pytest.approx(0.625)
    assert mcut_threshold([0.4]) == 1.0
    assert mcut_threshold([]) == 1.0


def test_mcut_in_the_tagger(tagger: WD14Tagger) -> None:
    red, blue = tagger.configured(mcut=True).tag([plain(RED), plain(BLUE)])
    assert names(red.general) == ["red theme"]  # the widest gap is below it
    assert names(red.character) == ["kagamine rin"]  # 0.5 vs 0.02: cut at 0.26
    assert names(blue.character) == ["hatsune miku"]


def test_character_mcut_never_goes_below_the_floor(tagger: WD14Tagger) -> None:
    probs = np.full(len(tagger.tags), 0.01, dtype=np.float32)
    probs[tagger.tags.character] = [0.12, 0.02]
    assert tagger.configured(mcut=True).decode(probs).character == []
    probs[tagger.tags.character] = [0.2, 0.02]
    assert names(tagger.configured(mcut=True).decode(probs).character) == ["hatsune miku"]


def test_kaomoji_keep_their_underscores() -> None:
    assert display_name("red_theme") == "red theme"
    assert display_name("^_^") == "^_^"
    assert all(display_name(face) == face for face in KAOMOJI)
    assert {"0_0", "(o)_(o)", "+_+", ">_<", "||_||"} <= KAOMOJI


def test_kaomoji_in_model_output(tagger: WD14Tagger) -> None:
    (red,) = tagger.tag([plain(RED)])
    assert "^_^" in names(red.general)


def test_rating_is_the_argmax_of_the_four(tagger: WD14Tagger) -> None:
    red, blue = tagger.tag([plain(RED), plain(BLUE)])
    assert set(red.ratings) == {"general", "sensitive", "questionable", "explicit"}
    assert red.rating == "sensitive"
    assert blue.rating == "general"
    assert red.rating == max(red.ratings, key=red.ratings.__getitem__)


def test_a_batch_equals_one_by_one(tagger: WD14Tagger) -> None:
    pictures = [plain(RED), plain(BLUE), plain((30, 200, 40), (50, 70))]
    batch = tagger.tag(pictures)
    assert batch == [tagger.tag([picture])[0] for picture in pictures]
    assert tagger.tag([]) == []


def test_the_tag_list_is_read_once_per_load(tiny_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    opens: list[str] = []
    real_open = builtins.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("selected_tags.csv"):
            opens.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    tagger = WD14Tagger(tiny_dir)
    for _ in range(3):
        tagger.tag([plain(RED), plain(BLUE)])
    assert len(opens) == 1
    shared = tagger_wd14.shared(tiny_dir)
    assert tagger_wd14.shared(tiny_dir, max_tags=1).session is shared.session
    shared.tag([plain(RED)])
    assert len(opens) == 2  # one more load, through the process-wide cache


def test_missing_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"model\.onnx"):
        WD14Tagger(tmp_path)


def test_a_tag_list_that_does_not_fit_the_model_is_refused(tmp_path: Path) -> None:
    folder = build_tiny_wd14(tmp_path / "model", size=32)
    write_tags_csv(folder / "selected_tags.csv",
                   [("general", 9), ("sensitive", 9), ("questionable", 9), ("explicit", 9),
                    ("red_theme", 0)])
    with pytest.raises(ValueError, match="outputs"):
        WD14Tagger(folder)


def test_the_four_rating_rows_are_required(tmp_path: Path) -> None:
    path = write_tags_csv(tmp_path / "tags.csv", [("general", 9), ("red_theme", 0)])
    with pytest.raises(ValueError, match="rating"):
        tagger_wd14.load_tags(path)
