"""Version chains (recursive queries, visibility) and the clean-up of old run folders."""

from __future__ import annotations

import os
import time

from app.jobs.queue import Queue
from app.queries import tools as queries
from app.queries.visibility import Viewer
from app.tools.runner import remove_expired_runs
from app.tools.service import run_folder, tools_root
from tests.tools.infra import post_tool, run_jobs, run_status, upload


def _version(app, alice, parent: int, tool_id: str, settings: dict) -> int:
    job_id = post_tool(alice, tool_id, {"image_id": str(parent),
                                        "settings": settings}).get_json()["job_id"]
    run_jobs(app)
    return int(run_status(alice, job_id)["result"]["outputs"][0]["image_id"])


def test_chain_up_and_down(app, db, alice) -> None:
    root = upload(alice)
    child = _version(app, alice, root, "resize", {"width": 200})
    grandchild = _version(app, alice, child, "rotate", {"angle": 180})
    sibling = _version(app, alice, root, "resize", {"width": 100})
    owner = Viewer(db.value("SELECT id FROM users WHERE username = 'alice'"))

    up = queries.ancestors(db, grandchild, owner)
    assert [(row["id"], row["depth"]) for row in up] == [(child, 1), (root, 2)]
    assert up[0]["tool_id"] == "resize"  # how the parent itself was made
    down = queries.descendants(db, root, owner)
    assert [(row["id"], row["depth"], row["tool_id"]) for row in down] == [
        (child, 1, "resize"), (sibling, 1, "resize"), (grandchild, 2, "rotate")]


def test_versions_respect_visibility(app, db, alice, bob) -> None:
    root = upload(alice)
    child = _version(app, alice, root, "resize", {"width": 120})
    alice.client.patch(f"/api/v1/images/{root}", json={"visibility": "public"},
                       headers={"X-CSRFToken": alice.csrf()})
    stranger = Viewer(db.value("SELECT id FROM users WHERE username = 'bob'"))
    owner = Viewer(db.value("SELECT id FROM users WHERE username = 'alice'"))
    assert [row["id"] for row in queries.descendants(db, root, owner)] == [child]
    assert queries.descendants(db, root, stranger) == []  # the version itself is private
    strip = bob.page(f"/images/{root}").find(id="versions")
    assert strip is None


def test_a_deleted_parent_drops_out_of_the_chain(app, db, alice) -> None:
    root = upload(alice)
    child = _version(app, alice, root, "resize", {"width": 90})
    alice.client.delete(f"/api/v1/images/{root}", headers={"X-CSRFToken": alice.csrf()})
    owner = Viewer(db.value("SELECT id FROM users WHERE username = 'alice'"))
    assert queries.ancestors(db, child, owner) == []


def test_expired_run_folders_are_removed_by_maintenance(app, db, alice) -> None:
    picture = upload(alice)
    job_id = post_tool(alice, "resize", {"image_id": str(picture), "save": "download",
                                         "settings": {"width": 30}}).get_json()["job_id"]
    run_jobs(app)
    output = run_status(alice, job_id)["result"]["outputs"][0]
    store = app.extensions["salon.media"]
    run_id = db.value("SELECT id FROM tool_runs WHERE job_id = ?", (job_id,))
    folder = run_folder(store, run_id)
    stray = tools_root(store) / "new-0123456789abcdef"
    stray.mkdir()
    old = time.time() - 2 * 3600
    os.utime(stray, (old, old))
    assert remove_expired_runs(db, store, hours=24) == 1  # only the stray staging folder
    assert folder.is_dir() and not stray.exists()

    Queue(db).enqueue("maintenance.cleanup_files")
    db.execute("UPDATE tool_runs SET created_at = created_at - 25 * 3600")
    assert run_jobs(app, kinds=("maintenance.cleanup_files",)) == 1
    assert not folder.exists()
    assert alice.client.get(output["download_url"]).status_code == 404
    assert run_status(alice, job_id)["expired"] is True
