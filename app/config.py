"""Salon's configuration: every setting is a ``SALON_*`` environment variable.

``SETTINGS`` is the single list of them. ``load_config`` reads the
environment, applies defaults and the caller's overrides (tests pass a dict),
and resolves paths. The README's configuration table documents the same list,
and an architecture test keeps the two in step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import AppError


@dataclass(frozen=True)
class Setting:
    key: str
    parse: Callable[[str], Any]
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"SALON_{self.key}"


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError(f"expected a positive number, got {value!r}")
    return number


SETTINGS: tuple[Setting, ...] = (
    Setting("INSTANCE", Path, Path("instance"), "Folder for the database, secret key and models."),
    Setting("DATABASE", Path, None, "SQLite database file (default: `<instance>/salon.db`)."),
    Setting("UPLOADS", Path, Path("uploads"), "Media store: originals, derived images, cache."),
    Setting("SECRET_KEY", str, None,
            "Signs sessions and CSRF tokens. Generated once into `<instance>/secret_key`."),
    Setting("HOST", str, "127.0.0.1", "Address the web process listens on."),
    Setting("PORT", _positive_int, 5000, "Port the web process listens on."),
    Setting("BASE_URL", str, "", "Public URL of this instance (default: http://HOST:PORT)."),
    Setting("INSTANCE_NAME", str, "Salon", "Name shown in the header and to peers."),
    Setting("MAX_UPLOAD_MB", _positive_int, 200, "Largest accepted request body, in MB."),
    Setting("MAX_PIXELS", _positive_int, 100_000_000,
            "Largest accepted image, in pixels (width × height), checked before decoding."),
    Setting("WEB_THREADS", _positive_int, 8, "Threads of the web process (gunicorn gthread)."),
    Setting("LOGIN_ATTEMPTS", _positive_int, 5,
            "Failed logins allowed per account and per address in the window below."),
    Setting("LOGIN_WINDOW_SECONDS", _positive_int, 900, "Window of the login rate limit."),
    Setting("SECURE_COOKIES", _bool, False, "Send cookies only over HTTPS (turn on behind TLS)."),
    Setting("PAGE_SIZE", _positive_int, 60, "Pictures per gallery page."),
    Setting("QUERY_TIMEOUT_MS", _positive_int, 2000, "Time limit of one search query."),
    Setting("LOG_LEVEL", str, "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR."),
    Setting("WORKER_CONCURRENCY", _positive_int, 2, "Worker processes `salon worker` starts."),
    Setting("WORKER_GRACE_SECONDS", _positive_int, 30,
            "On shutdown, how long running jobs may take to finish before they are released."),
    Setting("JOB_LEASE_SECONDS", _positive_int, 30,
            "Lease of a running job; heartbeats renew it, an expired one puts the job back."),
    Setting("CPU_SLOTS", _positive_int, os.cpu_count() or 1,
            "CPU slots shared by all running jobs (each job declares how many it needs)."),
    Setting("GPU_MB", int, 0, "GPU memory (MB) shared by running jobs; 0 means no GPU jobs."),
    Setting("JOB_MODULES", lambda raw: tuple(m.strip() for m in raw.split(",") if m.strip()), (),
            "Extra Python modules that register job handlers (comma-separated)."),
    Setting("SIMILAR_DISTANCE", int, 6,
            "Largest perceptual-hash distance (0–7 bits of 64) for 'similar pictures'."),
    Setting("REALTIME_POLL_MS", _positive_int, 100,
            "How often the web process relays new job events to browsers."),
    Setting("MODELS", Path, None, "Folder of installed models (default: `<instance>/models`)."),
    Setting("MODEL_IDLE_SECONDS", _positive_int, 300,
            "A loaded model unused this long is unloaded from the worker's memory."),
    Setting("FEDERATION_SHARE_NSFW", _bool, False,
            "Offer questionable/explicit pictures to followers (only where the owner also"
            " chose to)."),
    Setting("FEDERATION_SYNC_MINUTES", _positive_int, 30,
            "How often the worker pulls each followed peer's changes."),
    Setting("FEDERATION_PUSH", _bool, True,
            "Tell approved followers within seconds when public pictures change (signed"
            " notification; they then sync). Off: they only sync on their timer."),
    Setting("FEDERATION_PREFETCH_BATCH", _positive_int, 500,
            "Thumbnails one background prefetch run fetches from a peer after a sync; the"
            " next run resumes where it stopped."),
    Setting("FEDERATION_ALLOW_PRIVATE", _bool, False,
            "Let federation reach loopback and private-network peers (LAN peers, tests);"
            " link-local, metadata, multicast and unspecified addresses stay refused."),
    Setting("HTTP_TIMEOUT_SECONDS", _positive_float, 10.0,
            "Outbound federation requests: connect/read/write timeout; 3× this for a whole"
            " request."),
    Setting("HTTP_MAX_RESPONSE_MB", _positive_int, 8,
            "Largest instance document or change-feed page accepted from a peer, in MB."),
    Setting("PROXY_THUMB_MAX_KB", _positive_int, 512,
            "Largest thumbnail the image proxy accepts from a peer, in KB."),
    Setting("PROXY_MAX_MB", _positive_int, 50,
            "Largest preview or original the image proxy accepts from a peer, in MB."),
    Setting("PROXY_CACHE_MB", _positive_int, 500,
            "Disk cache of proxied peer media; least recently used files go first."),
    Setting("TOOL_RESULTS_HOURS", _positive_float, 24.0,
            "Image tools: how long run folders (inputs, download-only results, ZIP contents)"
            " are kept before the maintenance job removes them."),
    Setting("TOOL_BATCH_CONCURRENCY", _positive_int, 2,
            "Image tools: pictures a pipeline batch processes at once (threads of its job)."),
)


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return Flask config keys (``DATABASE``, ``UPLOADS``, ...) for one app."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.key in overrides:
            config[setting.key] = overrides.pop(setting.key)
        elif setting.env in environ:
            config[setting.key] = _parse(setting, environ[setting.env])
        else:
            config[setting.key] = setting.default
    config.update(overrides)
    _resolve_paths(config)
    # Whole request body: one file at the limit plus room for the multipart envelope.
    config.setdefault("MAX_CONTENT_LENGTH", config["MAX_UPLOAD_MB"] * 2**20 + 2**20)
    return config


def _parse(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise AppError(f"{setting.env}: {exc}") from exc


def _resolve_paths(config: dict[str, Any]) -> None:
    config["INSTANCE"] = Path(config["INSTANCE"]).resolve()
    config["UPLOADS"] = Path(config["UPLOADS"]).resolve()
    database = config["DATABASE"] or config["INSTANCE"] / "salon.db"
    config["DATABASE"] = Path(database).resolve()
    config["MODELS"] = Path(config["MODELS"] or config["INSTANCE"] / "models").resolve()
    if not config["BASE_URL"]:
        config["BASE_URL"] = f"http://{config['HOST']}:{config['PORT']}"


def secret_key(config: Mapping[str, Any]) -> str:
    """The configured secret, or the one kept in the instance folder (made once)."""
    if config.get("SECRET_KEY"):
        return str(config["SECRET_KEY"])
    path = Path(config["INSTANCE"]) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
