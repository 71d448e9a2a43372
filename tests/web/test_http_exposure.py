"""What a logged-in user can read of other users' money, through a real server (2 workers)
on both databases: a block is a public header, a transaction shows its parties and admins
only, and a party sees the balance after a posting on its own wallets only."""

from __future__ import annotations

import pytest
from live_server import start
from security_support import ENV, deposit, make_admin, register, transfer


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, ENV, workers=2)
    yield server
    server.stop()


def test_a_block_shows_its_header_and_only_the_callers_transactions(live, database_url, tmp_path):
    alice, bob, mallory = register(live, "alice"), register(live, "bob"), register(live, "mallory")
    paid = deposit(live, alice, "50.00")
    sent = transfer(live, alice, bob, "0.01")
    admin = make_admin(live, database_url, tmp_path)

    for tx in (paid, sent):
        path = f"/api/v1/ledger/block/{tx['block_index']}"
        seen = live.request("GET", path, headers=mallory.headers)
        assert seen.status == 200, seen.body
        header = seen.body["data"]
        assert {"index", "previous_hash", "merkle_root", "timestamp", "hash"} <= header.keys()
        assert header["transaction_count"] == 1
        assert header["transactions"] == [], "a stranger sees no transaction of the block"
        full = live.request("GET", path, headers=admin.headers).body["data"]
        assert [t["id"] for t in full["transactions"]] == [tx["id"]]
    as_bob = live.request("GET", f"/api/v1/ledger/block/{sent['block_index']}", None, bob.headers)
    assert [t["id"] for t in as_bob.body["data"]["transactions"]] == [sent["id"]]


def test_a_party_sees_only_its_own_balances(live, database_url, tmp_path):
    alice, bob = register(live, "alice"), register(live, "bob")
    deposit(live, bob, "77.00")
    deposit(live, alice, "5.00")
    sent = transfer(live, alice, bob, "0.01")
    by_user = {p["user_id"]: p["balance_after"] for p in sent["postings"]}
    assert by_user == {alice.id: "4.99", bob.id: None}, "the sender learns nobody's balance"

    shown = live.request("GET", f"/api/v1/transactions/{sent['id']}", headers=bob.headers)
    by_user = {p["user_id"]: p["balance_after"] for p in shown.body["data"]["postings"]}
    assert by_user == {alice.id: None, bob.id: "77.01"}
    listed = live.request("GET", "/api/v1/transactions", headers=alice.headers).body["data"]
    assert all(
        p["balance_after"] is None
        for t in listed
        for p in t["postings"]
        if p["user_id"] != alice.id
    )
    history = live.request("GET", f"/api/v1/ledger/transactions/{alice.id}", None, alice.headers)
    embedded = history.body["data"][0]["transaction"]
    assert {p["user_id"]: p["balance_after"] for p in embedded["postings"]}[bob.id] is None

    deposit_tx = deposit(live, alice, "1.00")
    world = [p for p in deposit_tx["postings"] if p["user_id"] is None]
    assert world[0]["balance_after"] is None, "the world account's balance is not public"
    admin = make_admin(live, database_url, tmp_path)
    as_admin = live.request("GET", f"/api/v1/transactions/{sent['id']}", headers=admin.headers)
    assert all(p["balance_after"] is not None for p in as_admin.body["data"]["postings"])


def test_security_headers(live):
    user = register(live, "user")
    for path, headers in [("/health", {}), ("/api/v1/auth/me", user.headers), ("/nowhere", {})]:
        reply = live.request("GET", path, headers=headers)
        assert reply.headers["x-content-type-options"] == "nosniff", path
        assert reply.headers["referrer-policy"] == "no-referrer", path
    page = live.request(
        "GET", "/admin?token=security-operator-token", headers={"accept": "text/html"}
    )
    assert page.status == 200
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<script nonce="{nonce}">' in page.body and "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    denied = live.request("GET", "/admin/supervision")
    assert (
        denied.status == 401
        and "frame-ancestors 'none'" in denied.headers["content-security-policy"]
    )
