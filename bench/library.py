"""A synthetic Salon library for the search benchmark: users, pictures, Zipf tags.

Built straight into a Salon database (the real migrations, then bulk
inserts in big transactions): pictures with realistic sizes, dates, ratings
and NSFW scores, AI-style prompts, captions with the shapes of real
captions, and tags drawn Zipf-distributed from ~20,000 names, with
``tags.count`` and the full-text rows filled in. Cached under
``bench/results/``, keyed by size and generator version.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.db import Database
from app.queries.images import tag_tokens

RESULTS = Path(__file__).resolve().parent / "results"
GENERATOR_VERSION = 3  # 3: statistics summaries (migration 0006, its triggers)
CHUNK = 50_000
TAG_VOCABULARY = 20_000
ZIPF_EXPONENT = 1.0
TAGS_PER_PICTURE = (6, 28)
START = datetime(2022, 6, 1, tzinfo=UTC).timestamp()
END = datetime(2025, 6, 1, tzinfo=UTC).timestamp()


# -- vocabulary --------------------------------------------------------------------------


def _words(text: str, separator: str | None = None) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(separator))


HEAD_TAGS = _words(
    "1girl;solo;looking at viewer;smile;long hair;short hair;blush;open mouth;simple background;"
    "blue eyes;brown hair;black hair;blonde hair;outdoors;upper body;1boy;holding;dress;"
    "standing;sky;day;cloud;full body;closed mouth;jewelry;hat;shirt;long sleeves;red eyes;"
    "white background;gloves;sitting;portrait;scenery;tree;water;night;indoors;flower;"
    "grass;building;city;sunset;ocean;beach;mountain;forest;rain;snow;no humans;animal;"
    "cat;dog;bird;food;car;window;book;sword;armor;cape;bow;ribbon;earrings;necklace;"
    "glasses;school uniform;jacket;skirt;pants;boots;cityscape;landscape;light rays;"
    "bokeh;depth of field;reflection;star sky;moon;sun;cloudy sky;from side;from behind;"
    "close-up;wide shot;signature;watermark;realistic;photorealistic;monochrome;greyscale;"
    "sketch;painting;watercolor;oil painting;pixel art;3d;anime coloring;cinematic lighting",
    ";")
COLOURS = _words("red blue green yellow purple pink orange white black grey silver golden brown "
                 "aqua teal crimson violet amber ivory navy")
ADJECTIVES = _words("tall small ancient modern ruined glowing floating frozen burning quiet busy "
                    "misty sunny stormy rustic futuristic gothic baroque abandoned hidden giant "
                    "tiny wooden stone glass metal crystal paper velvet silk neon")
NOUNS = _words("castle tower bridge garden harbour lighthouse temple shrine village market street "
               "alley river lake waterfall cave desert meadow valley cliff island station train "
               "ship boat airship robot dragon fox wolf horse owl butterfly whale knight witch "
               "wizard pilot samurai dancer musician painter sailor queen king child soldier "
               "umbrella lantern clock mirror candle teacup guitar violin piano bicycle kite "
               "balloon crown mask scarf hood coat kimono apron uniform helmet hair eyes "
               "sky flowers leaves clouds waves rocks sand ice fire smoke light shadow")
SYLLABLES = _words("ka ri mo te su na ha ru mi ya to ki sa ra ne lo vi an el or us ia en ta "
                   "shi ko me do ga be zu fa li no")
SUBJECTS = ("a woman", "an old man", "a young girl", "a knight", "a cat", "a small dog",
            "a robot", "a dragon", "two friends", "a crowd of people", "a lone traveller",
            "a fox", "a lighthouse", "a castle", "a city street", "a sailing ship")
VERBS = ("standing", "sitting", "walking", "running", "resting", "waiting", "reading a book",
         "looking at the sea", "holding an umbrella", "playing a violin", "flying")
PLACES = ("on a beach", "in a forest", "in a busy market", "on a bridge", "in the rain",
          "under a cherry tree", "in front of a castle", "on a mountain top", "in a library",
          "by a river", "in a neon city", "in the snow", "at a train station", "in a garden")
TIMES = ("at sunset", "at night", "in the morning", "under a starry sky", "on a cloudy day",
         "in golden light", "")
STYLES = ("digital painting", "watercolor", "oil painting", "photograph", "anime style",
          "concept art", "pixel art", "3d render", "ink sketch", "cinematic still")
QUALITY = ("masterpiece, best quality", "highly detailed, 8k", "best quality, ultra detailed",
           "award winning", "sharp focus, intricate details")
NEGATIVE = _words("lowres, bad anatomy, bad hands, text, error, missing fingers, cropped, "
                  "worst quality, low quality, jpeg artifacts, signature, watermark, blurry", ",")
MODELS = ("sd_xl_base_1.0", "dreamshaper_8", "realisticVisionV60", "animagineXL_v31",
          "ponyDiffusionV6XL", "juggernautXL_v9", "flux1-dev", "sd-v1-5", "counterfeitV30",
          "revAnimated_v122", "epicrealism", "majicmixRealistic")
SAMPLERS = ("Euler a", "DPM++ 2M Karras", "DPM++ SDE Karras", "Euler", "DDIM",
            "DPM++ 2M SDE", "UniPC", "LMS")
SIZES = ((512, 512, 8), (512, 768, 14), (768, 512, 8), (832, 1216, 18), (1216, 832, 10),
         (1024, 1024, 16), (896, 1152, 8), (1536, 2304, 6), (2048, 2048, 4), (1920, 1080, 4),
         (4032, 3024, 4))
RATINGS = (("general", 0.55, 0.0, 0.2), ("sensitive", 0.25, 0.15, 0.5),
           ("questionable", 0.12, 0.4, 0.8), ("explicit", 0.08, 0.7, 1.0))
VISIBILITY = (("public", 0.70), ("private", 0.22), ("unlisted", 0.08))
OWNERS = ("bench", "aiko", "bruno", "chen", "dara", "emil")
OWNER_WEIGHTS = (0.40, 0.20, 0.15, 0.10, 0.10, 0.05)


def _invented_name(rng: random.Random) -> str:
    first = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    last = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    return f"{first} {last}"


def tag_vocabulary(count: int, seed: int = 1) -> list[tuple[str, str]]:
    """(name, category), most common first: everyday tags, then descriptive pairs, then
    invented character and artist names (the long tail of a real booru)."""
    rng = random.Random(seed)
    names: dict[str, str] = dict.fromkeys(HEAD_TAGS, "general")
    pairs = [f"{a} {n}" for a in (*COLOURS, *ADJECTIVES) for n in NOUNS]
    rng.shuffle(pairs)
    for name in pairs[: count // 3]:
        names.setdefault(name, "general")
    while len(names) < count:
        category = rng.choice(("character", "character", "artist", "copyright"))
        names.setdefault(_invented_name(rng), category)
    return list(names.items())[:count]


# -- pictures ----------------------------------------------------------------------------


def zipf_cdf(count: int, exponent: float = ZIPF_EXPONENT) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    return np.cumsum(weights / weights.sum())


def draw_tags(rng: np.random.Generator, cdf: np.ndarray, pictures: int) -> list[list[int]]:
    """Each picture's distinct tag indexes (0 = most common), Zipf-drawn."""
    low, high = TAGS_PER_PICTURE
    draws = np.searchsorted(cdf, rng.random((pictures, high)), side="right")
    draws = np.minimum(draws, len(cdf) - 1)
    keep = np.arange(high)[None, :] < rng.integers(low, high + 1, pictures)[:, None]
    ordered = np.sort(np.where(keep, draws, -1), axis=1)
    fresh = np.ones_like(ordered, dtype=bool)
    fresh[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    fresh &= ordered >= 0
    return [row[mask].tolist() for row, mask in zip(ordered, fresh, strict=True)]


def caption(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.5:
        text = (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(PLACES)} "
                f"{rng.choice(TIMES)}")
    elif shape < 0.8:
        text = (f"{rng.choice(SUBJECTS)} with {rng.choice(COLOURS)} {rng.choice(NOUNS)} and "
                f"{rng.choice(COLOURS)} {rng.choice(NOUNS)}, {rng.choice(STYLES)}")
    else:
        text = f"a {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(PLACES)}"
    return text.strip()


def prompt(rng: random.Random, tag_names: list[str]) -> str:
    picked = tag_names[:8]
    return ", ".join([rng.choice(QUALITY), *picked, rng.choice(STYLES),
                      f"{rng.choice(COLOURS)} {rng.choice(NOUNS)}"])


def _weighted(rng: random.Random, options: tuple[Any, ...], weights: tuple[float, ...]) -> Any:
    return rng.choices(options, weights)[0]


@dataclass
class Picture:
    """One synthetic picture's rows, before they go to the database."""

    image: tuple[Any, ...]
    metadata: tuple[Any, ...] | None
    fts: tuple[Any, ...]


def make_picture(rng: random.Random, image_id: int, size: int, owners: list[int],
                 tag_names: list[str]) -> Picture:
    width, height, _ = _weighted(rng, SIZES, tuple(s[2] for s in SIZES))
    video = rng.random() < 0.03
    rating, _, low, high = _weighted(rng, RATINGS, tuple(r[1] for r in RATINGS))
    when = START + (END - START) * image_id / size + rng.uniform(-3600, 3600)
    stamp = datetime.fromtimestamp(min(when, END), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = f"{image_id:05d}-{rng.getrandbits(32)}." + ("mp4" if video else "png")
    text = caption(rng)
    title = text.capitalize()[:60] if rng.random() < 0.25 else ""
    image = (image_id, _weighted(rng, tuple(owners), OWNER_WEIGHTS), rng.randbytes(32).hex(),
             "video" if video else "image", "video/mp4" if video else "image/png",
             "mp4" if video else "png", name, int(width * height * rng.uniform(0.8, 1.6)),
             width, height, 240 if video else 1, 10.0 if video else None, title,
             _weighted(rng, *zip(*VISIBILITY, strict=True)), stamp, stamp, rating, rating,
             round(rng.uniform(low, high), 4), text)
    positive = prompt(rng, tag_names)
    metadata = None if video or rng.random() < 0.15 else (
        image_id, "a1111", positive, ", ".join(rng.sample(NEGATIVE, 5)),
        rng.choice((20, 25, 28, 30, 40)), _weighted(rng, SAMPLERS, (30, 25, 12, 10, 6, 8, 6, 3)),
        rng.choice((5.0, 6.0, 7.0, 7.5, 8.0)), rng.getrandbits(32),
        _weighted(rng, MODELS, tuple(1 / (n + 1) for n in range(len(MODELS)))))
    fts = (image_id, title, "", name, positive if metadata else "", text, " ".join(tag_names))
    return Picture(image, metadata, fts)


IMAGE_INSERT = (
    "INSERT INTO images (id, owner_id, sha256, kind, mime, ext, file_name, size_bytes, width,"
    " height, frames, duration, title, visibility, created_at, updated_at, rating, tagger_rating,"
    " nsfw_score, caption) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
METADATA_INSERT = (
    "INSERT INTO image_metadata (image_id, generator, prompt, negative_prompt, steps, sampler,"
    " cfg_scale, seed, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
FTS_INSERT = ("INSERT INTO images_fts (rowid, title, description, file_name, prompt, caption,"
              " tags) VALUES (?, ?, ?, ?, ?, ?, ?)")
TAG_FTS_INSERT = "INSERT INTO image_tag_fts (rowid, tags) VALUES (?, ?)"
TAG_INSERT = "INSERT INTO image_tags (image_id, tag_id, confidence, source) VALUES (?, ?, ?, ?)"
BULK_TABLES = ("images", "image_metadata", "image_tags")


# -- building ----------------------------------------------------------------------------


def _create_users(db: Database) -> list[int]:
    return [db.execute("INSERT INTO users (username, password_hash, role) VALUES (?, ?, ?)",
                       (name, "bench-no-login", "admin" if index == 0 else "user"))
            for index, name in enumerate(OWNERS)]


def _create_tags(db: Database, vocabulary: list[tuple[str, str]]) -> None:
    db.conn.executemany("INSERT INTO tags (id, name, category) VALUES (?, ?, ?)",
                        [(index + 1, name, cat) for index, (name, cat) in enumerate(vocabulary)])


def _drop_indexes(db: Database) -> list[str]:
    """Drop the bulk tables' indexes (rebuilt afterwards: sorting once beats random inserts)."""
    marks = ", ".join("?" for _ in BULK_TABLES)
    rows = db.all(f"SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
                  f" AND tbl_name IN ({marks})", BULK_TABLES)
    for row in rows:
        db.execute(f'DROP INDEX "{row["name"]}"')
    return [row["sql"] for row in rows]


def _insert_chunk(db: Database, first_id: int, count: int, size: int, state: dict[str, Any],
                  counts: np.ndarray) -> None:
    rng, names = state["rng"], state["names"]
    picks = draw_tags(state["np_rng"], state["cdf"], count)
    images, metadata, fts, links, tag_rows = [], [], [], [], []
    for offset, tags in enumerate(picks):
        image_id = first_id + offset
        picture = make_picture(rng, image_id, size, state["owners"], [names[t] for t in tags])
        images.append(picture.image)
        fts.append(picture.fts)
        if picture.metadata:
            metadata.append(picture.metadata)
        links.extend((image_id, tag + 1, 0.9, "wd14") for tag in tags)
        if tags:  # what index_image writes: the tag ids as tokens
            tag_rows.append((image_id, tag_tokens(tag + 1 for tag in tags)))
        counts[tags] += 1
    with db.transaction():
        db.conn.executemany(IMAGE_INSERT, images)
        db.conn.executemany(METADATA_INSERT, metadata)
        db.conn.executemany(TAG_INSERT, links)
        db.conn.executemany(FTS_INSERT, fts)
        db.conn.executemany(TAG_FTS_INSERT, tag_rows)


def build_library(path: Path, size: int, seed: int = 7, log: Callable[[str], None] = print,
                  optimize: bool = True) -> Path:
    """Build a synthetic library of ``size`` pictures in a new Salon database at ``path``."""
    started = time.perf_counter()
    db = Database(path)
    db.migrate()
    vocabulary = tag_vocabulary(TAG_VOCABULARY)
    with db.transaction():
        owners = _create_users(db)
        _create_tags(db, vocabulary)
        index_sql = _drop_indexes(db)
    db.execute("PRAGMA synchronous=OFF")
    state = {"rng": random.Random(seed), "np_rng": np.random.default_rng(seed),
             "cdf": zipf_cdf(len(vocabulary)), "names": [name for name, _ in vocabulary],
             "owners": owners}
    counts = np.zeros(len(vocabulary), dtype=np.int64)
    for first in range(1, size + 1, CHUNK):
        _insert_chunk(db, first, min(CHUNK, size - first + 1), size, state, counts)
        log(f"  {first + min(CHUNK, size - first + 1) - 1:,} pictures "
            f"({time.perf_counter() - started:.1f} s)")
    _finish(db, index_sql, counts, optimize)
    log(f"  built {size:,} pictures in {time.perf_counter() - started:.1f} s")
    db.close()
    return path


def _finish(db: Database, index_sql: list[str], counts: np.ndarray, optimize: bool) -> None:
    with db.transaction():
        db.conn.executemany("UPDATE tags SET count = ? WHERE id = ?",
                            [(int(n), index + 1) for index, n in enumerate(counts)])
        for sql in index_sql:
            db.execute(sql)
    if optimize:
        db.execute("INSERT INTO images_fts (images_fts) VALUES ('optimize')")
        db.execute("INSERT INTO image_tag_fts (image_tag_fts) VALUES ('optimize')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def cached_library(size: int, log: Callable[[str], None] = print) -> Path:
    """The cached database for ``size`` pictures, built on first use."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"search-{size}-v{GENERATOR_VERSION}.db"
    if path.exists():
        Database(path).migrate()  # later migrations apply on top of a cached library
        return path
    partial = path.with_suffix(".partial")
    for leftover in RESULTS.glob(partial.name + "*"):
        leftover.unlink()
    log(f"building a {size:,}-picture library in {path} ...")
    build_library(partial, size, log=log)
    partial.rename(path)
    return path


