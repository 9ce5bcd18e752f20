"""Image tools through the API against direct pyvips calls, and ZIP streaming memory.

    .venv/bin/python bench/tools.py [--files 3] [--rounds 3] [--zip-small 20] [--zip-large 200]

Part 1, for resize (to 1920 wide), convert (to WebP q80) and compress (JPEG q75) of
12-megapixel JPEGs, in alternating order in one run: everything a request costs —
``POST /api/v1/tools/<id>`` (multipart upload, sniffing, pixel guard, staging, the
job row), running the queued job in-process (the real Runner: claim, load, process,
save, result), and downloading the output — against the bare pyvips calls that do
the same pixel work (load, autorotate, resize/encode, write the file).

Part 2: a pipeline batch (rotate 90°) in ZIP mode over N pictures, then the ZIP
streamed through the API; the resident memory growth while streaming is sampled
after every chunk, for a small and a large batch (it should not grow with N).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a file, this folder would come first on sys.path and bench/queue.py would hide
# the standard library's queue module: put the repository there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._common import jpeg_with_exif, median_ms, photo_like, timed, write_files

SIZE = (4000, 3000)
OPERATIONS: dict[str, dict[str, Any]] = {
    "resize": {"width": 1920},
    "convert": {"format": "webp", "quality": 80},
    "compress": {"mode": "quality", "quality": 75},
}


def _vips() -> Any:
    import pyvips

    return pyvips


def direct(operation: str, path: Path, out: Path) -> None:
    """The same pixel work as the tool, with nothing around it."""
    image = _vips().Image.new_from_file(str(path), access="random", fail=True).autorot()
    if operation == "resize":
        scale = 1920 / image.width
        image.resize(scale, vscale=scale, kernel="lanczos3").jpegsave(
            str(out / "r.jpg"), Q=90, optimize_coding=True)
    elif operation == "convert":
        image.webpsave(str(out / "c.webp"), Q=80)
    else:
        (out / "k.jpg").write_bytes(image.jpegsave_buffer(Q=75, optimize_coding=True))


class Salon:
    """A throwaway app with one user and an API key; jobs run in this process."""

    def __init__(self, root: Path) -> None:
        from app import create_app
        from app.auth.accounts import create_user
        from app.auth.api_keys import create_api_key
        from app.cli import initialise
        from app.jobs.queue import Queue
        from app.jobs.runner import Runner

        self.app = create_app({"INSTANCE": root / "instance", "UPLOADS": root / "uploads",
                               "SECRET_KEY": "bench", "MAX_PIXELS": 100_000_000,
                               "MAX_UPLOAD_MB": 200, "LOG_LEVEL": "WARNING"})
        initialise(self.app)
        db = self.app.extensions["salon.db"]
        user = create_user(db, "bench", "bench password 1", role="user")
        self.headers = {"Authorization": f"Bearer {create_api_key(db, user, 'bench')}"}
        self.client = self.app.test_client()
        self.runner = Runner(Queue(db), self.app.extensions["salon.media"],
                             dict(self.app.config), "bench", kinds=["tool.run", "pipeline.run"])

    def run_tool(self, tool_id: str, path: Path, settings: dict[str, Any]) -> int:
        with path.open("rb") as stream:
            response = self.client.post(f"/api/v1/tools/{tool_id}", headers=self.headers, data={
                "file": (stream, path.name), "settings": json.dumps(settings),
                "save": "download"})
        assert response.status_code == 202, response.get_json()
        job_id = int(response.get_json()["job_id"])
        while self.runner.run_one():
            pass
        run = self.client.get(f"/api/v1/tools/runs/{job_id}", headers=self.headers).get_json()
        assert run["state"] == "succeeded", run
        for output in run["result"]["outputs"]:
            download = self.client.get(output["download_url"], headers=self.headers)
            assert download.status_code == 200 and download.get_data()
        return job_id


def compare_operations(files: list[Path], rounds: int, work: Path) -> dict[str, dict[str, float]]:
    salon = Salon(work / "salon")
    out = work / "direct"
    out.mkdir()
    results: dict[str, dict[str, float]] = {}
    for operation, settings in OPERATIONS.items():
        api: list[float] = []
        bare: list[float] = []
        for round_number in range(rounds):
            for index, path in enumerate(files):
                pair: list[tuple[list[float], Callable[[], Any]]] = [
                    (api, lambda p=path, o=operation, s=settings: salon.run_tool(o, p, s)),
                    (bare, lambda p=path, o=operation: direct(o, p, out))]
                if (round_number + index) % 2:
                    pair.reverse()
                for samples, call in pair:
                    samples.append(timed(call))
        results[operation] = {"api_ms": median_ms(api), "direct_ms": median_ms(bare),
                              "ratio": median_ms(api) / median_ms(bare)}
        print(f"{operation:<9} API {results[operation]['api_ms']:8.1f} ms   direct pyvips "
              f"{results[operation]['direct_ms']:8.1f} ms   ratio "
              f"{results[operation]['ratio']:.2f}", flush=True)
    return results


# -- ZIP streaming memory ---------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    import resource

    return pages * resource.getpagesize()


class PeakSampler:
    """Largest RSS growth over the value at entry, sampled every 5 ms by a thread."""

    def __init__(self) -> None:
        import threading

        self.growth = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._start = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.growth = max(self.growth, rss_bytes() - self._start)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.growth = max(self.growth, rss_bytes() - self._start)


def zip_batch(count: int, work: Path) -> dict[str, float]:
    """Ingest ``count`` pictures, run a one-step pipeline in ZIP mode, stream the ZIP."""
    salon = Salon(work / f"zip-{count}")
    ids = []
    for index in range(count):
        data = jpeg_with_exif(photo_like(1600, 1200, index))
        response = salon.client.post("/api/v1/images", headers=salon.headers,
                                      data={"file": (_bytes_io(data), f"p{index}.jpg")})
        ids.append(response.get_json()["images"][0]["id"])
    created = salon.client.post("/api/v1/pipelines", headers=salon.headers, json={
        "name": "turn", "steps": [{"tool": "rotate", "settings": {"angle": 90}}]}).get_json()
    job = salon.client.post(f"/api/v1/pipelines/{created['id']}/run", headers=salon.headers,
                            json={"image_ids": ids, "mode": "zip"}).get_json()["job_id"]
    with PeakSampler() as job_peak:
        while salon.runner.run_one():
            pass
    response = salon.client.get(f"/api/v1/tools/runs/{job}/zip", headers=salon.headers,
                                buffered=False)
    assert response.is_streamed
    before, peak, total = rss_bytes(), 0, 0
    for chunk in response.response:
        total += len(chunk)
        peak = max(peak, rss_bytes() - before)
    response.close()
    result = {"pictures": count, "zip_mb": total / 2**20, "rss_growth_mb": peak / 2**20,
              "job_rss_growth_mb": job_peak.growth / 2**20}
    print(f"ZIP of {count:>4} pictures: batch job RSS growth {result['job_rss_growth_mb']:.1f} MB, "
          f"{result['zip_mb']:7.1f} MB streamed, "
          f"RSS growth while streaming {result['rss_growth_mb']:.1f} MB", flush=True)
    return result


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--zip-small", type=int, default=20)
    parser.add_argument("--zip-large", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="salon-bench-tools-") as folder:
        work = Path(folder)
        files = write_files(work / "photos", args.files, *SIZE)
        print(f"{args.files} × {SIZE[0]}×{SIZE[1]} JPEGs, {args.rounds} rounds", flush=True)
        operations = compare_operations(files, args.rounds, work)
        small = zip_batch(args.zip_small, work)
        large = zip_batch(args.zip_large, work)
    print(json.dumps({"operations": operations, "zip": [small, large]}, indent=1))


if __name__ == "__main__":
    main()
