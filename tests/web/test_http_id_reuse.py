"""Ids are never reused, through a real server on both databases: delete the newest user,
register another, and the old user's token names nobody (401), not the newcomer."""

from __future__ import annotations

import pytest
from live_server import start
from security_support import ENV, register


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, ENV, workers=2)
    yield server
    server.stop()


def test_a_deleted_users_id_and_token_never_come_back(live):
    register(live, "first")
    gone = register(live, "gone")
    assert live.request("DELETE", f"/api/v1/users/{gone.id}", None, gone.headers).status == 204
    newcomer = register(live, "newcomer")
    assert newcomer.id > gone.id
    for _ in range(4):
        assert live.request("GET", "/api/v1/auth/me", headers=gone.headers).status == 401
    history = live.request(
        "GET", f"/api/v1/ledger/transactions/{newcomer.id}", None, newcomer.headers
    )
    assert history.status == 200 and history.body["data"] == []


def test_a_deleted_products_id_never_comes_back(live):
    vendor = register(live, "vendor")
    body = {"product": {"name": "Lamp", "price": "1.00", "currency": "EUR"}}
    first = live.request("POST", "/api/v1/products", body, vendor.headers).body["data"]
    assert (
        live.request("DELETE", f"/api/v1/products/{first['id']}", None, vendor.headers).status
        == 204
    )
    second = live.request("POST", "/api/v1/products", body, vendor.headers).body["data"]
    assert second["id"] > first["id"]
