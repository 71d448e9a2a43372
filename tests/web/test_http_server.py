"""A real `bitnexus serve` over HTTP: the walkthrough (both databases), SIGTERM with
requests in flight behind the ledger's lock, and a worker whose root supervisor gives up
being replaced."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
import sqlalchemy as sa
from ledger_support import waiting_writers, writes_held
from live_server import create_admin, start
from prometheus_client.parser import text_string_to_metric_families

from bitnexus.ledger.schema import ledger_transactions
from supervisors import walk

OPERATOR = {"authorization": "Bearer live-operator-token"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def server_env():
    return {
        "BITNEXUS_SECRET_KEY": "live-secret-key-for-the-smoke-test-0123456789",
        "BITNEXUS_ADMIN_TOKEN": "live-operator-token",
        "BITNEXUS_ARGON2_TIME_COST": "1",
        "BITNEXUS_ARGON2_MEMORY_COST": "64",
        "BITNEXUS_ARGON2_PARALLELISM": "1",
        "BITNEXUS_ACCOUNTS_POOL": "2",
        "BITNEXUS_PRODUCTS_POOL": "2",
    }


@pytest.fixture
def live(engine, database_url, tmp_path, server_env):
    server = start(database_url, tmp_path, server_env, workers=2)
    yield server
    server.stop()


def login(live, email):
    reply = live.request("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
    assert reply.status == 200, reply.body
    return {"authorization": f"Bearer {reply.body['data']['token']}"}


def register(live, email):
    user = {"email": email, "name": email.split("@")[0], "password": PASSWORD}
    reply = live.request("POST", "/api/v1/auth/register", {"user": user})
    assert reply.status == 201, reply.body
    assert reply.headers["location"] == f"/api/v1/users/{reply.body['data']['id']}"
    return reply.body["data"]


def test_walkthrough_over_http(live, database_url, tmp_path, server_env):
    create_admin(database_url, server_env, tmp_path, "root@example.com", PASSWORD)
    admin = login(live, "root@example.com")
    vendor_user, buyer_user = register(live, "vendor@example.com"), register(live, "b@example.com")
    vendor, buyer = login(live, "vendor@example.com"), login(live, "b@example.com")

    me = live.request("GET", "/api/v1/auth/me", headers=buyer)
    assert me.body["data"]["id"] == buyer_user["id"]
    assert me.headers["content-type"] == "application/json; charset=utf-8"
    assert me.headers["x-request-id"]

    product = {"name": "Course", "price": "30.00", "currency": "EUR", "commission_rate": "10"}
    created = live.request("POST", "/api/v1/products", {"product": product}, vendor)
    assert created.status == 201 and created.body["data"]["status"] == "pending"
    product_id = created.body["data"]["id"]
    activate = {"product": {"status": "active"}}
    assert live.request("PATCH", f"/api/v1/products/{product_id}", activate, admin).status == 200

    deposit = {"transaction": {"kind": "deposit", "amount": "50.00", "currency": "EUR"}}
    key = {**buyer, "idempotency-key": "walkthrough-1"}
    first = live.request("POST", "/api/v1/transactions", deposit, key)
    again = live.request("POST", "/api/v1/transactions", deposit, key)
    assert first.status == again.status == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.body == first.body

    purchase = {"transaction": {"kind": "purchase", "product_id": product_id}}
    bought = live.request("POST", "/api/v1/transactions", purchase, buyer)
    assert bought.status == 201, bought.body
    tx_id = bought.body["data"]["id"]

    history = live.request("GET", f"/api/v1/ledger/transactions/{buyer_user['id']}", None, buyer)
    assert history.body["data"][0]["transaction"]["id"] == tx_id
    verify = live.request("GET", f"/api/v1/ledger/verify/{tx_id}", None, vendor)
    assert verify.body["data"]["verdict"] == "valid"
    balances = live.request("GET", f"/api/v1/users/{vendor_user['id']}/balances", None, vendor)
    assert {"currency": "EUR", "balance": "30.00"} in balances.body["data"]

    tree = live.request("GET", "/admin/supervision", headers=OPERATOR)
    assert tree.status == 200 and isinstance(tree.body["data"]["pid"], int)
    assert live.request("GET", "/admin/supervision").status == 401
    metrics = live.request("GET", "/metrics").body
    assert 'bitnexus_http_requests_total{method="POST",route="/api/v1/transactions"' in metrics
    assert "bitnexus_actor_inbox_depth" in metrics
    # Summed over both workers' ledgers: the deposit and the purchase, the replay not.
    values = {
        (s.name, tuple(sorted(s.labels.values()))): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    posted = "bitnexus_ledger_transactions_total"
    assert values[(posted, ("EUR", "deposit"))] == values[(posted, ("EUR", "purchase"))] == 1
    assert values[("bitnexus_ledger_block_size_sum", ())] == 2
    assert values[("bitnexus_ledger_block_size_count", ())] == 2
    assert values[("bitnexus_ledger_commit_seconds_count", ())] == 2
    assert live.request("GET", "/health").body["database"] == "connected"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # a second writer's lock
def test_sigterm_finishes_the_requests_in_flight(engine, database_url, tmp_path, server_env):
    """N deposits held behind the ledger's write lock, SIGTERM, then the lock released:
    all N answered 201 and stored, and the server exits 0."""
    env = {**server_env, "BITNEXUS_CALL_TIMEOUT": "30"}  # the hold must not time out
    live = start(database_url, tmp_path, env, workers=1, threads=QUEUED + 4)
    try:
        owner = register(live, "inflight@example.com")
        headers = login(live, "inflight@example.com")
        body = {"transaction": {"kind": "deposit", "amount": "1.00", "currency": "EUR"}}
        replies: list = []
        with writes_held(engine) as holder:
            first = _post_in_thread(live, body, {**headers, "idempotency-key": "q0"}, replies)
            waiting_writers(holder)  # the ledger is inside a block, waiting for the lock
            rest = [
                _post_in_thread(live, body, {**headers, "idempotency-key": f"q{n}"}, replies)
                for n in range(1, QUEUED)
            ]
            # Queued: the other N-1 wait in the ledger's inbox behind the blocked one.
            _wait_for(lambda: _ledger_inbox(live) == QUEUED - 1, "requests queued at the ledger")
            live.proc.send_signal(signal.SIGTERM)
            _wait_for(lambda: "Worker draining" in live.stderr(), "the worker got SIGTERM")
        for thread in [first, *rest]:  # the lock is released: the block commits
            thread.join(60)
        assert live.proc.wait(60) == 0, live.stderr()
    finally:
        live.stop(signal.SIGKILL)
    assert sorted(r.status for r in replies) == [201] * QUEUED, [r.body for r in replies]
    acknowledged = {r.body["data"]["id"] for r in replies}
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(ledger_transactions.c.id).where(ledger_transactions.c.user_id == owner["id"])
        ).scalars()
        assert acknowledged == set(stored)
    assert "Traceback" not in live.stderr()


QUEUED = 8


def _post_in_thread(live, body, headers, replies: list) -> threading.Thread:
    def post() -> None:
        replies.append(live.request("POST", "/api/v1/transactions", body, headers))

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def _ledger_inbox(live) -> int:
    tree = live.request("GET", "/admin/supervision", headers=OPERATOR).body["data"]
    return next(n["inbox"] for n in walk(tree) if n["path"] == "root/services/ledger")


def _wait_for(predicate, what: str, deadline: float = 30.0) -> None:
    """Poll another process's state (there is nothing in-process to wait on)."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < deadline, f"{what}: not within {deadline} s"
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_worker_whose_root_gives_up_is_replaced(engine, database_url, tmp_path, server_env):
    live = start(database_url, tmp_path, server_env, workers=1)
    try:
        first_pid = live.request("GET", "/admin/supervision", headers=OPERATOR).body["data"]["pid"]
        pid = first_pid
        deadline = time.monotonic() + 30
        # Root allows 3 restarts in 5 s: the 4th crash makes it give up; until the old
        # worker has exited, it still answers (its tree view needs no live root).
        while time.monotonic() < deadline:
            try:
                live.request("POST", "/admin/supervision/root/services/crash", headers=OPERATOR)
                reply = live.request("GET", "/admin/supervision", headers=OPERATOR)
            except OSError:
                continue  # the old worker is draining or gone; the arbiter starts another
            if reply.status == 200 and reply.body["data"]["pid"] != first_pid:
                pid = reply.body["data"]["pid"]
                break
        assert pid != first_pid
        assert live.request("GET", "/api/v1/auth/me").status == 401  # serving again
    finally:
        code = live.stop()
    assert f"(pid:{first_pid}) exited with code 1" in live.stderr()
    assert code == 0
    # The worker reported its root giving up before it exited (its supervisor reports).
    reports = [
        json.loads(line)
        for line in live.stderr().splitlines()
        if line.startswith("{") and '"supervisors.events"' in line
    ]
    gave_up = [(r["pid"], r["event_supervisor"]) for r in reports if r["event_kind"] == "gave_up"]
    assert (first_pid, "root") in gave_up, gave_up
