"""One worker process: ``python -m app.jobs.child --owner NAME [--kinds a,b]``.

Started and watched by the supervisor (``salon worker``). SIGTERM asks it to
finish the running job and exit; the supervisor kills it after the grace
period if it does not.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from app.config import load_config
from app.db import Database
from app.jobs.queue import Budget, Queue
from app.jobs.registry import load_handlers
from app.jobs.runner import Runner
from app.logs import configure
from app.media.storage import MediaStore

log = logging.getLogger(__name__)


def build_runner(config: dict[str, Any], owner: str, kinds: list[str] | None) -> Runner:
    from ml import loaded

    loaded.configure(config["MODEL_IDLE_SECONDS"])
    load_handlers(config["JOB_MODULES"])
    queue = Queue(Database(config["DATABASE"]))
    budget = Budget(config["CPU_SLOTS"], config["GPU_MB"])
    return Runner(queue, MediaStore(config["UPLOADS"]), config, owner, kinds=kinds,
                  budget=budget, lease_seconds=config["JOB_LEASE_SECONDS"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--kinds", default="")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = load_config()
    configure(config["LOG_LEVEL"])
    runner = build_runner(config, args.owner, [k for k in args.kinds.split(",") if k] or None)
    runner.stop = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides; Ctrl-C reaches it
    log.info("worker process %s started", args.owner)
    runner.loop()
    log.info("worker process %s stopped", args.owner)


if __name__ == "__main__":
    main()
