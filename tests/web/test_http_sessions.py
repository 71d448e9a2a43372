"""Privileges follow the user, not the token, through a real server (2 workers) on both
databases: a token stops working when its user is demoted, re-passworded, deleted or
logs out; access tokens are short-lived and refreshed with rotating refresh tokens whose
reuse revokes the whole family."""

from __future__ import annotations

import pytest
from live_server import start
from security_support import ENV, PASSWORD, login, make_admin, register


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, ENV, workers=2)
    yield server
    server.stop()


def status(live, path, who, method="GET", body=None) -> int:
    return live.request(method, path, body, who.headers).status


def test_a_demoted_admin_loses_admin_rights_at_once(live, database_url, tmp_path):
    admin, root = make_admin(live, database_url, tmp_path), make_admin(live, database_url, tmp_path)
    assert status(live, "/api/v1/users", admin) == 200
    assert status(live, "/admin/supervision", admin) == 200
    demote = {"user": {"role": "user"}}
    assert status(live, f"/api/v1/users/{admin.id}", root, "PATCH", demote) == 200
    for _ in range(4):  # whichever worker answers
        assert status(live, "/api/v1/users", admin) in (401, 403)
        assert status(live, "/admin/supervision", admin) in (401, 403)
        new_admin = {
            "user": {"email": "x@example.com", "name": "X", "password": PASSWORD, "role": "admin"}
        }
        assert status(live, "/api/v1/users", admin, "POST", new_admin) in (401, 403)


def test_a_deleted_user_and_a_changed_password_end_old_tokens(live):
    user, other = register(live, "user"), register(live, "other")
    assert status(live, f"/api/v1/users/{user.id}", user, "DELETE") == 204
    for _ in range(4):
        assert status(live, "/api/v1/auth/me", user) == 401
    change = {"user": {"password": "another long password"}}
    assert status(live, f"/api/v1/users/{other.id}", other, "PATCH", change) == 200
    for _ in range(4):
        assert status(live, "/api/v1/auth/me", other) == 401


def test_logout_ends_the_token_and_its_refresh_token(live):
    user = register(live, "user")
    second = login(live, user.email)
    assert live.request("POST", "/api/v1/auth/logout", None, user.headers).status == 204
    for _ in range(4):
        assert status(live, "/api/v1/auth/me", user) == 401
        assert status(live, "/api/v1/auth/me", second) == 401, "logout ends every session"
    refreshed = live.request("POST", "/api/v1/auth/refresh", {"refresh_token": user.refresh_token})
    assert refreshed.status == 401
    assert status(live, "/api/v1/auth/me", login(live, user.email)) == 200


def test_refresh_rotates_and_reuse_revokes_the_family(live):
    user = register(live, "user")
    reply = live.request("POST", "/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    body = reply.body["data"]
    assert body["expires_in"] <= 15 * 60 and body["refresh_token"]
    assert reply.headers["cache-control"] == "no-store"
    first = body["refresh_token"]
    rotated = live.request("POST", "/api/v1/auth/refresh", {"refresh_token": first})
    assert rotated.status == 200, rotated.body
    assert rotated.headers["cache-control"] == "no-store"
    second = rotated.body["data"]["refresh_token"]
    assert second != first
    fresh = {"authorization": f"Bearer {rotated.body['data']['token']}"}
    assert live.request("GET", "/api/v1/auth/me", headers=fresh).status == 200

    reused = live.request("POST", "/api/v1/auth/refresh", {"refresh_token": first})
    assert reused.status == 401
    revoked = live.request("POST", "/api/v1/auth/refresh", {"refresh_token": second})
    assert revoked.status == 401, "reuse of an old refresh token revokes its whole family"
    for bad in [None, "", "garbage", 12, {"x": 1}]:
        answer = live.request("POST", "/api/v1/auth/refresh", {"refresh_token": bad})
        assert answer.status == 401, (bad, answer.body)
