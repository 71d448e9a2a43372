"""Hostile strings from anyone, logged in or not, through a real server (one worker, so
its tree is the one every request reaches) on both databases: each gets a 400 or 422 and
no actor restarts. `test_http_unicode_property.py` feeds arbitrary Unicode to every route."""

from __future__ import annotations

import pytest
from live_server import start
from security_support import ENV, OPERATOR, register

from supervisors import walk

SURROGATE, NUL, NONCHARACTER = "\ud800", "\x00", "\ufdd0"


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, ENV, workers=1)
    yield server
    server.stop()


def restarts(live) -> dict[str, int]:
    tree = live.request("GET", "/admin/supervision", headers=OPERATOR).body["data"]
    return {node["path"]: node["restarts"]["total"] for node in walk(tree)}


@pytest.mark.parametrize("bad", [SURROGATE, NUL, NONCHARACTER, "a\udfffb"])
def test_hostile_strings_are_refused_and_crash_nothing(live, bad):
    user = register(live, "user")
    before = restarts(live)
    name = {"user": {"email": "e@example.com", "name": f"x{bad}", "password": "p" * 12}}
    email = {"user": {"email": f"e{bad}@example.com", "name": "x", "password": "p" * 12}}
    password = {"user": {"email": "p@example.com", "name": "x", "password": f"{'p' * 12}{bad}"}}
    product = {"product": {"name": f"W{bad}", "price": "1.00", "currency": "EUR"}}
    described = {
        "transaction": {"kind": "deposit", "amount": "1", "currency": "EUR", "description": bad}
    }
    sent = [
        ("POST", "/api/v1/auth/register", name, {}),
        ("POST", "/api/v1/auth/register", email, {}),
        ("POST", "/api/v1/auth/register", password, {}),
        ("POST", "/api/v1/auth/login", {"email": f"a{bad}@example.com", "password": "x"}, {}),
        ("POST", "/api/v1/auth/login", {"email": user.email, "password": f"p{bad}"}, {}),
        ("POST", "/api/v1/products", product, user.headers),
        ("POST", "/api/v1/transactions", described, user.headers),
        ("PATCH", f"/api/v1/users/{user.id}", {"user": {"name": bad}}, user.headers),
    ]
    for method, path, body, headers in sent:
        reply = live.request(method, path, body, headers)
        assert reply.status in (400, 401, 422), (path, body, reply.status, reply.body)
    assert restarts(live) == before


@pytest.mark.parametrize("value", ["%00", "EUR%00", "%EF%B7%90", "%ED%A0%80"])
def test_hostile_query_parameters_are_refused(live, value):
    user = register(live, "user")
    before = restarts(live)
    for path in [
        f"/api/v1/ledger/transactions/{user.id}?currency={value}",
        f"/api/v1/transactions?currency={value}",
        f"/api/v1/products?q={value}",
        f"/api/v1/users/{user.id}/products?category={value}",
        f"/admin/supervision/events?after={value}",
    ]:
        headers = OPERATOR if path.startswith("/admin") else user.headers
        reply = live.request("GET", path, headers=headers)
        assert reply.status in (200, 400, 422), (path, reply.status, reply.body)
        assert not (path.startswith("/api/v1/ledger") and reply.status == 200), reply.body
    assert restarts(live) == before
