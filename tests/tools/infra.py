"""Helpers for the tool infrastructure tests: upload pictures, call the tools API, run
the queued jobs in this process (the real Runner on the real queue)."""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Flask
from PIL import Image

from app.jobs.queue import Queue
from app.jobs.runner import Runner
from tests.conftest import Browser, multipart, sample_photo


def run_jobs(app: Flask, kinds: tuple[str, ...] = ("tool.run", "pipeline.run"),
             limit: int = 20) -> int:
    """Run queued tool jobs (not the analyses uploads queue) until none is left."""
    runner = Runner(Queue(app.extensions["salon.db"]), app.extensions["salon.media"],
                    dict(app.config), "test-worker", kinds=kinds)
    count = 0
    while count < limit and runner.run_one():
        count += 1
    return count


def upload(user: Browser, name: str = "astronaut") -> int:
    response = user.upload(sample_photo(name), f"{name}.jpg")
    assert response.status_code in (200, 201), response.get_json()
    return int(response.get_json()["images"][0]["id"])


def post_tool(user: Browser, tool_id: str, fields: dict[str, Any]) -> Any:
    encoded = {key: (json.dumps(value) if key == "settings" else value)
               for key, value in fields.items()}
    body, content_type = multipart(encoded)
    return user.client.post(f"/api/v1/tools/{tool_id}", data=body, content_type=content_type,
                            headers={"X-CSRFToken": user.csrf()})


def post_json(user: Browser, url: str, body: Any, method: str = "POST") -> Any:
    return user.client.open(url, method=method, json=body, headers={"X-CSRFToken": user.csrf()})


def run_status(user: Browser, job_id: int) -> dict[str, Any]:
    response = user.client.get(f"/api/v1/tools/runs/{job_id}")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size
