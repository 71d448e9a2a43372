"""Login, tokens and their rejection: expired, wrong signature, `alg: none`, garbage."""

from __future__ import annotations

import base64
import json
import time
from types import SimpleNamespace

import jwt
import pytest
from web_support import PASSWORD, SECRET

from web import tokens


def test_login_returns_a_15_minute_hs256_token(client, user):
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()["data"]
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 15 * 60)
    assert body["user"]["id"] == user.id and "password" not in body["user"]
    header = jwt.get_unverified_header(body["token"])
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert header["alg"] == "HS256"
    assert claims["sub"] == str(user.id) and claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["gen"] == 0 and body["refresh_token"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": None, "password": None},
        {},
    ],
)
def test_bad_credentials_are_401(client, user, credentials):
    response = client.post("/api/v1/auth/login", json=credentials)
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"detail": "Unauthorized"}}


def test_wrong_password_is_401(client, user):
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": "x" * 12})
    assert response.status_code == 401


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _unsigned(user_id: int) -> str:
    claims = {"sub": str(user_id), "role": "admin", "iat": int(time.time()), "exp": 2**31}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda uid: tokens.issue(
                SECRET, uid, "user", generation=0, now=time.time() - 2 * 86400
            ),
            id="expired",
        ),
        pytest.param(
            lambda uid: tokens.issue("another-secret-" * 3, uid, "user", generation=0),
            id="signature",
        ),
        pytest.param(_unsigned, id="alg-none"),
        pytest.param(lambda uid: "garbage", id="garbage"),
        pytest.param(
            lambda uid: jwt.encode({"sub": str(uid), "role": "user"}, SECRET, "HS256"),
            id="no-exp",
        ),
        pytest.param(
            lambda uid: jwt.encode(
                {"sub": str(uid), "role": "root", "iat": 1, "exp": 2**31}, SECRET, "HS256"
            ),
            id="unknown-role",
        ),
    ],
)
def test_invalid_tokens_are_401(client, user, make_token):
    headers = {"authorization": f"Bearer {make_token(user.id)}"}
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"detail": "Unauthorized"}}
    assert client.get("/admin/supervision", headers=headers).status_code == 401


def test_other_schemes_are_401(client, user):
    assert client.get("/api/v1/auth/me", headers={"authorization": user.token}).status_code == 401
    basic = {"authorization": f"Basic {user.token}"}
    assert client.get("/api/v1/auth/me", headers=basic).status_code == 401


def test_operator_endpoints_without_token_are_401(client):
    # /admin itself answers a sign-in form (test_http_admin_page.py).
    for method, path in [
        ("GET", "/admin/supervision"),
        ("GET", "/admin/supervision/events"),
        ("GET", "/admin/ledger/verify"),
        ("POST", "/admin/supervision/root/services/accounts/restart"),
        ("POST", "/admin/supervision/root/services/accounts/terminate"),
        ("POST", "/admin/supervision/root/services/accounts/crash"),
    ]:
        assert client.open(path, method=method).status_code == 401, path


def test_a_deleted_users_token_no_longer_answers_me(client, admin, make_account):
    doomed = make_account("user")
    assert client.delete(f"/api/v1/users/{doomed.id}", headers=admin.headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=doomed.headers).status_code == 401


def test_a_token_checked_before_still_expires(client, user, monkeypatch):
    token = tokens.issue(SECRET, user.id, "user", generation=0)
    headers = {"authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # now cached
    expires = jwt.decode(token, SECRET, algorithms=["HS256"])["exp"]
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: expires))  # the clock
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
