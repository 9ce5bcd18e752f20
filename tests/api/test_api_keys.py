"""API keys: printed once, stored hashed, accepted as Bearer, revocable."""

from __future__ import annotations

import hashlib

from tests.conftest import Browser


def test_cli_key_works_as_bearer_and_is_stored_hashed(app, runner, make_user, db) -> None:
    make_user("alice")
    result = runner.invoke(args=["api-key", "create", "--user", "alice", "--name", "script"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key.startswith("salon_")
    stored = db.all("SELECT key_hash, prefix FROM api_keys")
    assert stored[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(stored)
    client = app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "alice"


def test_bearer_requests_skip_csrf(app, runner, make_user) -> None:
    make_user("alice")
    key = runner.invoke(args=["api-key", "create", "--user", "alice", "--name", "x"]).output.strip()
    response = app.test_client().post("/api/v1/images/bulk", json={"ids": [1], "action": "delete"},
                                      headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.get_json() == {"changed": 0}


def test_unknown_and_revoked_keys_are_refused(app, runner, make_user) -> None:
    make_user("alice")
    key = runner.invoke(args=["api-key", "create", "--user", "alice", "--name", "x"]).output.strip()
    client = app.test_client()
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer salon_nope"})
    assert bad.status_code == 401
    assert "unknown or revoked" in bad.get_json()["error"]
    listed = runner.invoke(args=["api-key", "list", "--user", "alice", "--json"])
    assert '"name": "x"' in listed.output
    assert key not in listed.output
    assert runner.invoke(args=["api-key", "revoke", "--user", "alice", "1"]).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_settings_page_creates_shows_once_and_revokes(alice: Browser) -> None:
    response = alice.post("/settings/api-keys", {"name": "backup"})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    key = html.split('<pre id="new-key">')[1].split("</pre>")[0]
    assert key.startswith("salon_")
    again = alice.page("/settings/")
    assert key not in str(again)
    assert "backup" in again.get_text()
    assert alice.client.get("/api/v1/me",
                            headers={"Authorization": f"Bearer {key}"}).status_code == 200
    alice.post("/settings/api-keys/1/revoke")
    assert alice.client.get("/api/v1/me",
                            headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_a_user_cannot_revoke_another_users_key(alice: Browser, bob: Browser) -> None:
    alice.post("/settings/api-keys", {"name": "mine"})
    assert bob.post("/settings/api-keys/1/revoke").status_code == 404


def test_api_without_credentials_is_401_json(app, make_user) -> None:
    make_user("alice")
    response = app.test_client().get("/api/v1/me")
    assert response.status_code == 401
    assert "error" in response.get_json()
