"""Upload path against a bare thumbnail call, on 12-megapixel JPEGs, in one run.

    .venv/bin/python bench/ingest.py [--files 6] [--rounds 5]

For each file, in alternating order: the whole ingest (sniff, SHA-256, store,
EXIF orientation, 256 px thumbnail + 1024 px preview, metadata, rows in a
real SQLite database) and the bare library call that makes one 256 px WebP
thumbnail (Pillow ``Image.thumbnail``, which already uses JPEG draft mode,
the fastest bare call here), and libvips' ``thumbnail`` for 256 px alone and
for both derived images, as further baselines.
Peak memory of each path is measured in a fresh child process (ru_maxrss).
Then the idle memory of a real ``salon web`` (gunicorn) after one request.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, this folder would come first on sys.path and bench/queue.py would hide
# the standard library's queue module: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._common import median_ms, timed, write_files

SIZE = (4000, 3000)


def bare_thumbnail(path: Path) -> bytes:
    from PIL import Image

    with Image.open(path) as image:
        image.thumbnail((256, 256))
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80)
    return out.getvalue()


def bare_derive(path: Path) -> None:
    """Salon's own thumbnail call alone: both derived images, nothing else."""
    from app.media.derive import make_derivatives

    with tempfile.TemporaryDirectory() as folder:
        make_derivatives(path, "image/jpeg", Path(folder))


def bare_vips_thumbnail(path: Path) -> bytes:
    import pyvips

    return pyvips.Image.thumbnail(str(path), 256).webpsave_buffer(Q=80)


def bare_vips_both(path: Path) -> None:
    """libvips' own thumbnail call for each derived image (shrink-on-load, auto-rotate)."""
    import pyvips

    pyvips.Image.thumbnail(str(path), 1024).webpsave_buffer(Q=80)
    pyvips.Image.thumbnail(str(path), 256).webpsave_buffer(Q=80)


class Salon:
    """A throwaway app with one user; each ingest gets fresh bytes (no dedupe)."""

    def __init__(self, root: Path) -> None:
        from app import create_app
        from app.auth.accounts import create_user
        from app.cli import initialise

        self.app = create_app({"INSTANCE": root / "instance", "UPLOADS": root / "uploads",
                               "SECRET_KEY": "bench", "MAX_PIXELS": 100_000_000,
                               "LOG_LEVEL": "WARNING"})
        initialise(self.app)
        self.db = self.app.extensions["salon.db"]
        self.store = self.app.extensions["salon.media"]
        self.user = create_user(self.db, "bench", "bench password 1")
        self.counter = 0

    def ingest(self, data: bytes) -> None:
        from app.media.ingest import Limits, ingest

        self.counter += 1
        unique = data + self.counter.to_bytes(8, "big")  # bytes after EOI: same picture, new hash
        ingest(self.db, self.store, io.BytesIO(unique), "photo.jpg", self.user,
               Limits(200 * 2**20, 100_000_000))


def compare(paths: list[Path], rounds: int, root: Path) -> dict:
    salon = Salon(root)
    blobs = {path: path.read_bytes() for path in paths}
    runs: dict[str, list[float]] = {"full": [], "derive": [], "pillow_thumb": [],
                                    "vips_thumb": [], "vips_both": []}
    calls = {"full": lambda p: salon.ingest(blobs[p]), "derive": bare_derive,
             "pillow_thumb": bare_thumbnail, "vips_thumb": bare_vips_thumbnail,
             "vips_both": bare_vips_both}
    for path in paths:  # warm-up: imports, codecs, caches
        for call in calls.values():
            call(path)
    for index in range(rounds):
        for path in paths if index % 2 == 0 else reversed(paths):
            for name, call in calls.items():
                runs[name].append(timed(lambda c=call, p=path: c(p)))
    ms = {name: round(median_ms(samples), 1) for name, samples in runs.items()}
    return {"median_ms": ms,
            "ratio_vs_bare_derive": round(ms["full"] / ms["derive"], 2),
            "ratio_vs_pillow_thumbnail": round(ms["full"] / ms["pillow_thumb"], 2),
            "ratio_vs_vips_thumbnail": round(ms["full"] / ms["vips_thumb"], 2),
            "ratio_vs_vips_both": round(ms["full"] / ms["vips_both"], 2)}


def child_peak(mode: str, paths: list[Path]) -> float:
    """Peak RSS in MB of a fresh process doing only ``mode`` on every file."""
    output = subprocess.run([sys.executable, __file__, "--child", mode,
                             *map(str, paths)], capture_output=True, text=True, check=True)
    return float(output.stdout.strip())


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, paths: list[Path]) -> None:
    # The high-water mark survives exec on Linux: reset it so the parent's does not count.
    Path("/proc/self/clear_refs").write_text("5")
    with tempfile.TemporaryDirectory() as tmp:
        salon = Salon(Path(tmp)) if mode == "full" else None
        for path in paths:
            if salon is not None:
                salon.ingest(path.read_bytes())
            else:
                bare_thumbnail(path)
        print(round(_peak_mb(), 1))


def web_idle_mb(root: Path) -> dict:
    import httpx
    import psutil

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SALON_PORT": str(port), "SALON_INSTANCE": str(root / "web-instance"),
           "SALON_UPLOADS": str(root / "web-uploads"), "SALON_LOG_LEVEL": "WARNING"}
    logging.getLogger("httpx").setLevel(logging.WARNING)
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "web"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.get(f"http://127.0.0.1:{port}/setup", timeout=5)
        time.sleep(1)
        master = psutil.Process(process.pid)
        procs = [master, *master.children(recursive=True)]
        info = [p.memory_full_info() for p in procs]
        return {"processes": len(procs),
                "rss_mb": [round(i.rss / 2**20, 1) for i in info],
                "pss_total_mb": round(sum(i.pss for i in info) / 2**20, 1),
                "uss_total_mb": round(sum(i.uss for i in info) / 2**20, 1)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], [Path(p) for p in args.child[1:]])
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write_files(root / "photos", args.files, *SIZE)
        result = compare(paths, args.rounds, root / "salon")
        result["peak_rss_full_mb"] = child_peak("full", paths)
        result["peak_rss_bare_mb"] = child_peak("bare", paths)
        result["web_idle"] = web_idle_mb(root)
        result["files"], result["rounds"], result["size"] = args.files, args.rounds, SIZE
    print(json.dumps(result, indent=2))
    ratio = result["ratio_vs_pillow_thumbnail"]
    target = "meets" if ratio <= 1.5 else "misses"
    print(f"full path / bare Pillow 256 px thumbnail = {ratio:.2f} ({target} the 1.5 target)")


if __name__ == "__main__":
    main()
