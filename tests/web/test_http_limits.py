"""Per-transaction and per-wallet limits per currency, through a real server on both
databases: one user depositing as much as the server accepts cannot stop anyone else's
deposits (the world account's 64-bit balance cannot be exhausted by legal traffic)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from live_server import start
from security_support import ENV, deposit, register

LARGEST = ["9999999999.99999999"] + [f"{Decimal(10) ** k:f}" for k in range(9, -9, -1)]


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, ENV, workers=1)
    yield server
    server.stop()


def deposit_status(live, who, amount: str, currency: str = "NXC") -> tuple[int, object]:
    body = {"transaction": {"kind": "deposit", "amount": amount, "currency": currency}}
    reply = live.request("POST", "/api/v1/transactions", body, who.headers)
    return reply.status, reply.body


def test_one_user_cannot_exhaust_a_world_account(live):
    mallory, alice = register(live, "mallory"), register(live, "alice")
    for amount in LARGEST:  # greedy: as much as is accepted, largest amounts first
        for _ in range(10):
            status, body = deposit_status(live, mallory, amount)
            if status != 201:
                assert status == 422, body
                break
    status, body = deposit_status(live, alice, "1")
    assert status == 201, body
    balances = live.request("GET", f"/api/v1/users/{mallory.id}/balances", None, mallory.headers)
    held = {b["currency"]: Decimal(b["balance"]) for b in balances.body["data"]}
    assert held["NXC"] <= 40


def test_the_limits_are_answered_as_validation_errors(live):
    user = register(live, "user")
    status, body = deposit_status(live, user, "10.00000001")
    assert (status, body) == (422, {"errors": {"amount": ["must be less than or equal to 10"]}})
    status, body = deposit_status(live, user, "1000000.01", "EUR")
    assert status == 422 and "amount" in body["errors"], body
    for _ in range(10):
        deposit(live, user, "1000000.00")
    status, body = deposit_status(live, user, "0.01", "EUR")
    assert (status, body) == (422, {"errors": {"amount": ["would exceed the wallet limit"]}})
