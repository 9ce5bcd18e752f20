"""Setup, login, logout, registration, CSRF and the login rate limit."""

from __future__ import annotations

from tests.conftest import PASSWORD, Browser


def test_fresh_site_sends_everyone_to_setup(browser: Browser) -> None:
    response = browser.client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")
    assert browser.client.get("/api/v1/images").status_code == 302  # also the API


def test_setup_creates_the_admin_once(browser: Browser) -> None:
    form = {"username": "root", "password": PASSWORD, "password_confirm": PASSWORD}
    response = browser.post("/setup", form)
    assert response.status_code == 302
    soup = browser.page("/admin/users")  # logged in as the new admin
    assert "root" in soup.get_text()
    other = Browser(browser.client.application.test_client())
    assert other.client.get("/setup").status_code == 302  # setup is gone now


def test_setup_keeps_input_and_names_the_field(browser: Browser) -> None:
    response = browser.post("/setup", {"username": "root", "password": "short",
                                       "password_confirm": "short"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "at least 10 characters" in html
    assert 'value="root"' in html


def test_login_and_logout(browser: Browser, make_user) -> None:
    make_user("alice")
    assert browser.login("alice").status_code == 302
    assert browser.client.get("/mine").status_code == 200
    assert browser.post("/logout").status_code == 302
    assert browser.client.get("/mine").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part(browser: Browser, make_user) -> None:
    make_user("alice")
    wrong = browser.login("alice", "not the password")
    unknown = browser.login("nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password" in wrong.get_data(as_text=True)


def test_login_rate_limit(browser: Browser, make_user) -> None:
    make_user("alice")
    for _ in range(3):  # LOGIN_ATTEMPTS is 3 in the test app
        assert browser.login("alice", "nope nope nope").status_code == 401
    limited = browser.login("alice")  # even the right password waits now
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0


def test_forms_need_a_csrf_token(browser: Browser, make_user) -> None:
    make_user("alice")
    response = browser.client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_session_api_calls_need_the_csrf_header(alice: Browser) -> None:
    response = alice.client.patch("/api/v1/images/1", json={"title": "x"})
    assert response.status_code == 400


def test_registration_is_closed_by_default_and_can_be_opened(app, make_user) -> None:
    make_user("root", role="admin")
    visitor = Browser(app.test_client())
    assert visitor.client.get("/register").status_code == 403
    admin = Browser(app.test_client())
    admin.login("root")
    admin.post("/admin/settings", {"open_registration": "1"})
    assert visitor.client.get("/register").status_code == 200
    response = visitor.post("/register", {"username": "newbie", "password": PASSWORD})
    assert response.status_code == 302
    assert visitor.client.get("/mine").status_code == 200


def test_admin_creates_users_and_users_cannot_reach_admin_pages(app, make_user) -> None:
    make_user("root", role="admin")
    admin = Browser(app.test_client())
    admin.login("root")
    assert admin.post("/admin/users", {"username": "carol", "password": PASSWORD,
                                       "role": "user"}).status_code == 302
    carol = Browser(app.test_client())
    assert carol.login("carol").status_code == 302
    assert carol.client.get("/admin/users").status_code == 403
    assert carol.post("/admin/settings", {"public_gallery": "1"}).status_code == 403


def test_duplicate_username_is_a_conflict(app, make_user) -> None:
    make_user("root", role="admin")
    admin = Browser(app.test_client())
    admin.login("root")
    response = admin.post("/admin/users", {"username": "ROOT", "password": PASSWORD})
    assert response.status_code == 409
    assert "taken" in response.get_data(as_text=True)


def test_last_admin_cannot_demote_themselves(app, make_user) -> None:
    root_id = make_user("root", role="admin")
    admin = Browser(app.test_client())
    admin.login("root")
    admin.post(f"/admin/users/{root_id}", {"role": "user"})
    assert "at least one active admin" in admin.page("/admin/users").get_text()
    assert admin.client.get("/admin/users").status_code == 200


def test_disabled_user_cannot_log_in(app, make_user, db) -> None:
    from app.queries.users import update_user

    user_id = make_user("alice")
    update_user(db, user_id, role="user", disabled=True)
    assert Browser(app.test_client()).login("alice").status_code == 401


def test_next_parameter_only_follows_local_paths(browser: Browser, make_user) -> None:
    make_user("alice")
    response = browser.client.post(
        "/login?next=https://evil.example/", data={"username": "alice", "password": PASSWORD,
                                                   "csrf_token": browser.csrf()})
    assert response.headers["Location"] == "/"


def test_passwords_are_stored_as_argon2id(db, make_user) -> None:
    make_user("alice")
    stored = db.value("SELECT password_hash FROM users WHERE username = 'alice'")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
