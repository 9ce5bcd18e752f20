"""The realtime bridge: which rooms hear which event, the relay's tailing of
``job_events``, and the whole path through a real ``salon web`` with real
Socket.IO clients (two users, an anonymous socket, private and public pictures)."""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from app import realtime
from app.db import Database
from app.jobs.queue import Queue
from app.realtime import Outgoing, Relay, route
from tests.conftest import jpeg_bytes, multipart

PASSWORD = "realtime test password"
COLORS = itertools.count(10, 7)


def event_row(event: str, user_id: int | None = 7, image_id: int | None = 3,
              data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": 1, "job_id": 5, "event": event, "user_id": user_id, "image_id": image_id,
            "data": json.dumps(data or {"id": 5, "state": "running"})}


# -- which rooms hear which event ---------------------------------------------------------


@pytest.mark.parametrize("event", ["job.progress", "job.state"])
def test_job_events_go_to_their_owner_and_the_admins(event: str) -> None:
    outgoing = route(event_row(event, user_id=7, image_id=3))
    assert outgoing == Outgoing(event, {"id": 5, "state": "running"}, ["admins", "user:7"])


def test_job_events_never_go_to_the_pictures_room() -> None:
    outgoing = route(event_row("job.progress", user_id=7, image_id=3))
    assert outgoing is not None and "image:3" not in outgoing.rooms


def test_a_system_job_is_told_to_admins_only() -> None:
    outgoing = route(event_row("job.state", user_id=None, image_id=None))
    assert outgoing is not None and outgoing.rooms == ["admins"]


def test_image_updates_go_to_the_pictures_room_and_its_owner() -> None:
    data = {"image_id": 3, "analysis": {"state": "done", "steps": []}}
    outgoing = route(event_row("image.updated", user_id=7, image_id=3, data=data))
    assert outgoing == Outgoing("image.updated", data, ["image:3", "user:7"])


def test_image_updates_are_not_sent_to_admins() -> None:
    outgoing = route(event_row("image.updated", user_id=7, image_id=3))
    assert outgoing is not None and "admins" not in outgoing.rooms


def test_an_event_with_nobody_to_tell_or_of_unknown_kind_is_dropped() -> None:
    assert route(event_row("image.updated", user_id=None, image_id=None)) is None
    assert route(event_row("job.secret")) is None


# -- the relay over a real database --------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], list[str]]] = []

    def __call__(self, event: str, payload: dict[str, Any], rooms: list[str]) -> None:
        self.sent.append((event, payload, rooms))


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[Queue]:
    database = Database(tmp_path / "relay.db")
    database.migrate()
    yield Queue(database)
    database.close()


def _user(queue: Queue, name: str) -> int:
    return queue.db.execute("INSERT INTO users (username, password_hash, role) VALUES (?, 'x',"
                            " 'user')", (name,))


def test_the_relay_skips_the_backlog_and_relays_new_events_in_order(queue: Queue) -> None:
    owner = _user(queue, "alice")
    queue.enqueue("sleep", user_id=owner)  # before the relay started: not replayed
    recorder = Recorder()
    relay = Relay(queue.db, recorder, poll_seconds=0.01)
    relay.skip_backlog()
    assert relay.poll_once() == 0
    job_id = queue.enqueue("sleep", user_id=owner)
    job = queue.claim("test")
    assert job is not None and job.id == 1  # the older job first
    queue.progress(job.id, "test", 0.5, "half way")
    assert relay.poll_once() == 3
    assert [(event, payload["id"], payload["state"]) for event, payload, _ in recorder.sent] == [
        ("job.state", job_id, "queued"), ("job.state", 1, "running"),
        ("job.progress", 1, "running")]
    assert recorder.sent[-1][1]["message"] == "half way"
    assert all(rooms == ["admins", f"user:{owner}"] for _, _, rooms in recorder.sent)


def test_the_relay_reads_in_batches(queue: Queue) -> None:
    recorder = Recorder()
    relay = Relay(queue.db, recorder, poll_seconds=0.01)
    relay.skip_backlog()
    for _ in range(realtime.BATCH + 20):
        queue.enqueue("noop")
    assert relay.poll_once() == realtime.BATCH
    assert relay.poll_once() == 20
    assert len(recorder.sent) == realtime.BATCH + 20


def test_one_event_that_fails_to_send_does_not_stop_the_others(queue: Queue) -> None:
    sent: list[int] = []

    def flaky(event: str, payload: dict[str, Any], rooms: list[str]) -> None:
        if payload["id"] == 1:
            raise RuntimeError("socket trouble")
        sent.append(payload["id"])

    relay = Relay(queue.db, flaky, poll_seconds=0.01)
    relay.skip_backlog()
    queue.enqueue("noop")
    queue.enqueue("noop")
    assert relay.poll_once() == 2
    assert sent == [2]
    assert relay.poll_once() == 0  # the failed row is not retried forever


def test_the_relay_starts_again_from_the_top_after_the_log_was_pruned_empty(queue: Queue) -> None:
    recorder = Recorder()
    relay = Relay(queue.db, recorder, poll_seconds=0.01)
    relay.skip_backlog()
    queue.enqueue("noop")
    queue.enqueue("noop")
    relay.poll_once()
    queue.db.execute("DELETE FROM job_events")
    relay.poll_once()  # notices that the ids went backwards
    queue.enqueue("noop")
    relay.poll_once()
    assert [payload["id"] for _, payload, _ in recorder.sent] == [1, 2, 3]


def test_the_relay_thread_polls_until_stopped(queue: Queue) -> None:
    recorder = Recorder()
    relay = Relay(queue.db, recorder, poll_seconds=0.01)
    relay.skip_backlog()
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        queue.enqueue("noop")
        _wait(lambda: len(recorder.sent) == 1, "the relay thread to send the event")
    finally:
        relay.stop()
        thread.join(timeout=5)
    assert not thread.is_alive()


# -- a real server and real clients ----------------------------------------------------------


def _wait(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveSalon:
    """``salon web`` (gunicorn) in a subprocess, with its own instance and uploads."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SALON_PORT": str(self.port), "SALON_HOST": "127.0.0.1",
                    "SALON_INSTANCE": str(root / "instance"), "SALON_UPLOADS": str(root / "up"),
                    "SALON_WEB_THREADS": "4", "SALON_LOG_LEVEL": "WARNING"}
        self.database = root / "instance" / "salon.db"
        self.process: subprocess.Popen[bytes] | None = None

    def salon(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "app.cli", *args], env=self.env, check=True,
                              capture_output=True, timeout=60)
        return done.stdout.decode()

    def create_user(self, username: str) -> int:
        output = self.salon("create-user", "--username", username, "--password", PASSWORD)
        match = re.search(r"\(id (\d+)\)", output)
        assert match, output
        return int(match.group(1))

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "app.cli", "web"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode())  # type: ignore[union-attr]
            try:
                httpx.get(self.url + "/login", timeout=1).close()
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("salon web did not start in 30 s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stderr:
            self.process.stderr.close()


class Person:
    """A logged-in HTTP client and a Socket.IO client on its session, recording events."""

    def __init__(self, salon: LiveSalon, username: str, user_id: int) -> None:
        self.user_id = user_id
        self.http = httpx.Client(base_url=salon.url, timeout=10)
        self.events: list[tuple[str, Any]] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", lambda event, data: self.events.append((event, data)))
        self.login(username)

    def login(self, username: str) -> None:
        token = csrf(self.http.get("/login").text)
        response = self.http.post("/login", data={"username": username, "password": PASSWORD,
                                                   "csrf_token": token})
        assert response.status_code == 302, response.text

    def connect(self, url: str) -> None:
        # Flask-Login's "strong" session protection ties the session to the User-Agent.
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.sio.connect(url, headers={"Cookie": cookies,
                                       "User-Agent": self.http.headers["User-Agent"]},
                         transports=["websocket"], wait_timeout=10)

    def upload(self, visibility: str) -> int:
        token = csrf(self.http.get("/upload").text)
        picture = jpeg_bytes(color=(next(COLORS), 90, self.user_id * 40))  # never a duplicate
        body, content_type = multipart({"file": ("p.jpg", picture), "visibility": visibility})
        response = self.http.post("/api/v1/images", content=body,
                                  headers={"Content-Type": content_type, "X-CSRFToken": token})
        assert response.status_code == 201, response.text
        return int(response.json()["images"][0]["id"])

    def about_job(self, job_id: int) -> list[tuple[str, Any]]:
        return [(event, data) for event, data in self.events
                if event.startswith("job.") and data["id"] == job_id]

    def close(self) -> None:
        self.sio.disconnect()
        self.sio.wait()
        self.http.close()


def csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture(scope="module")
def salon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSalon]:
    live = LiveSalon(tmp_path_factory.mktemp("realtime"))
    live.salon("init")
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def people(salon: LiveSalon) -> Iterator[tuple[Person, Person]]:
    alice = Person(salon, "alice", salon.create_user("alice"))
    bob = Person(salon, "bob", salon.create_user("bob"))
    try:
        alice.connect(salon.url)
        bob.connect(salon.url)
        yield alice, bob
    finally:
        alice.close()
        bob.close()


@pytest.fixture
def queue_of(salon: LiveSalon) -> Iterator[Queue]:
    database = Database(salon.database)
    yield Queue(database)
    database.close()


def test_progress_reaches_the_owner_and_nobody_else(people: tuple[Person, Person],
                                                    queue_of: Queue) -> None:
    alice, bob = people
    job_id = queue_of.enqueue("sleep", {"seconds": 1}, user_id=alice.user_id)
    job = queue_of.claim("test-worker", kinds=["sleep"])
    assert job is not None and job.id == job_id
    for step in (1, 2, 3):
        assert queue_of.progress(job_id, "test-worker", step / 4, f"step {step}")
    assert queue_of.succeed(job_id, "test-worker", {"slept": 1})
    _wait(lambda: ("job.state", "succeeded") in
          [(event, data["state"]) for event, data in alice.about_job(job_id)],
          "alice to hear that her job succeeded")
    progress = [data for event, data in alice.about_job(job_id) if event == "job.progress"]
    assert [(p["progress"], p["message"]) for p in progress] == [
        (0.25, "step 1"), (0.5, "step 2"), (0.75, "step 3")]
    # A job of Bob's, sent after Alice's: once Bob hears it, he would have heard hers.
    own = queue_of.enqueue("sleep", user_id=bob.user_id)
    _wait(lambda: bob.about_job(own), "bob to hear about his own job")
    assert bob.about_job(job_id) == []


def test_an_anonymous_socket_is_refused(salon: LiveSalon) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(salon.url, transports=["websocket"], wait_timeout=10)
    assert not client.connected
    client.disconnect()


def test_a_forged_session_is_refused(salon: LiveSalon) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(salon.url, headers={"Cookie": "session=forged.cookie.value"},
                       transports=["websocket"], wait_timeout=10)
    client.disconnect()


def test_a_page_on_another_site_cannot_use_the_session(salon: LiveSalon) -> None:
    """Cross-site WebSocket hijacking: the browser would send the cookie, and its Origin."""
    person = Person(salon, "carol", salon.create_user("carol"))
    cookies = "; ".join(f"{name}={value}" for name, value in person.http.cookies.items())
    headers = {"Cookie": cookies, "User-Agent": person.http.headers["User-Agent"]}
    # websocket-client sends the Origin of the URL it connects to, unless told another.
    hijacker = socketio.Client(reconnection=False,
                               websocket_extra_options={"origin": "http://evil.example"})
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            hijacker.connect(salon.url, headers=headers, transports=["websocket"],
                             wait_timeout=10)
        person.sio.connect(salon.url, headers=headers, transports=["websocket"], wait_timeout=10)
        assert person.sio.connected  # the same cookie, from the site's own origin
    finally:
        hijacker.disconnect()
        person.close()


def test_watching_a_picture_follows_its_visibility(people: tuple[Person, Person],
                                                   queue_of: Queue) -> None:
    alice, bob = people
    private, public = alice.upload("private"), alice.upload("public")
    assert bob.sio.call("watch_image", {"image_id": private}, timeout=10)["ok"] is False
    assert bob.sio.call("watch_image", {"image_id": public}, timeout=10)["ok"] is True
    assert bob.sio.call("watch_image", {"image_id": "nonsense"}, timeout=10)["ok"] is False
    assert alice.sio.call("watch_image", {"image_id": private}, timeout=10)["ok"] is True

    for image_id in (private, public):
        queue_of.image_updated(image_id, alice.user_id, {"analysis": {"state": "done"}})
    def updated(person: Person) -> list[int]:
        return sorted(data["image_id"] for event, data in person.events
                      if event == "image.updated")

    _wait(lambda: updated(alice) == [private, public], "alice to hear both updates")
    _wait(lambda: updated(bob) == [public], "bob to hear about the public picture")
    time.sleep(0.3)  # the private update was sent in the same batch: give it time to be wrong
    assert updated(bob) == [public]
