"""The database lost for real, in process: the app's engine reaches PostgreSQL through a
proxy the test cuts (tests/pg_proxy.py). Every route that needs the database answers 503
with Retry-After, no actor crashes or restarts, /health says unhealthy; once the proxy
lets connections through again the same actors answer. The ledger, started while the
database is away, starts degraded and recovers on its own retry tick."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from pg_proxy import Proxy
from web_support import OPERATOR, PASSWORD

from actors.ledger import PREPARE_RETRY_SECONDS
from actors.pubsub import RECONNECT_SECONDS
from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from bitnexus.database.probe import DatabaseProbe
from bitnexus.tree import application_spec
from supervisors import Tree, start_tree, walk
from web import Runtime, create_app

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])
LEDGER = "root/services/ledger"
LISTENER = "root/pubsub/listener"
DEPOSIT = {"transaction": {"kind": "deposit", "amount": "5.00", "currency": "EUR"}}


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    proxy = Proxy()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def proxied(web_config: Config, engine: sa.Engine, proxy: Proxy) -> Iterator[sa.Engine]:
    """The application's engine, connected through the proxy (`engine` emptied the tables)."""
    url = sa.make_url(web_config.database_url).set(port=proxy.port)
    config = dataclasses.replace(web_config, database_url=url.render_as_string(False))
    proxied = make_engine(config)
    try:
        yield proxied
    finally:
        proxied.dispose()


@pytest.fixture
def tree(web_config: Config, proxied: sa.Engine) -> Iterator[Tree]:
    tree = start_tree(application_spec(web_config, proxied))
    try:
        yield tree
    finally:
        tree.stop()


@pytest.fixture
def api(web_config: Config, proxied: sa.Engine, tree: Tree) -> Iterator[FlaskClient]:
    probe = DatabaseProbe(proxied, web_config.call_timeout)  # the production /health probe
    try:
        yield create_app(web_config, Runtime(tree, probe)).test_client()
    finally:
        probe.close()


def _user(api: FlaskClient) -> dict[str, str]:
    user = {"email": "cut@example.com", "name": "Cut", "password": PASSWORD}
    assert api.post("/api/v1/auth/register", json={"user": user}).status_code == 201
    login = api.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    return {"authorization": f"Bearer {login.get_json()['data']['token']}"}


def _unavailable(response) -> None:
    assert response.status_code == 503, response.get_json()
    assert response.headers["retry-after"].isdigit()
    assert response.get_json() == {"errors": {"detail": "Service Unavailable"}}


def _no_crash_since(tree: Tree, seq: int) -> None:
    kinds = [(e["supervisor"], e["child"], e["kind"]) for e in tree.events(seq)]
    assert not [k for k in kinds if k[2] in ("child_crashed", "child_restarted", "gave_up")], kinds
    assert all(n["restarts"]["total"] == 0 for n in walk(tree.tree()) if "restarts" in n)


def test_a_lost_database_is_503_and_the_same_actors_recover(api, tree, proxy, engine):
    headers = _user(api)
    me = api.get("/api/v1/auth/me", headers=headers).get_json()["data"]
    assert api.post("/api/v1/transactions", json=DEPOSIT, headers=headers).status_code == 201
    seq = tree.log.last_seq
    proxy.cut()
    keyed = {**headers, "idempotency-key": "during-the-outage"}
    for method, path, body, who in [
        ("GET", "/api/v1/auth/me", None, headers),  # accounts
        ("GET", "/api/v1/products", None, headers),  # products
        ("GET", f"/api/v1/users/{me['id']}/balances", None, headers),  # ledger, read
        ("POST", "/api/v1/transactions", DEPOSIT, keyed),  # transactions, then the ledger
        ("POST", "/api/v1/auth/login", {"email": me["email"], "password": PASSWORD}, {}),
    ]:
        _unavailable(api.open(path, method=method, json=body, headers=who))
    health = api.get("/health")
    assert health.status_code == 503
    assert (health.get_json()["status"], health.get_json()["database"]) == (
        "unhealthy",
        "disconnected",
    )
    _no_crash_since(tree, seq)

    proxy.restore()
    assert api.get("/health").status_code == 200
    assert api.get("/api/v1/auth/me", headers=headers).get_json()["data"]["id"] == me["id"]
    posted = api.post("/api/v1/transactions", json=DEPOSIT, headers=keyed)
    assert posted.status_code == 201 and "idempotent-replayed" not in posted.headers
    balances = api.get(f"/api/v1/users/{me['id']}/balances", headers=headers).get_json()["data"]
    assert {"currency": "EUR", "balance": "10.00"} in balances  # the 503 posted nothing
    _no_crash_since(tree, seq)


def test_the_ledger_starts_degraded_and_recovers_on_its_tick(api, tree, proxy):
    headers = _user(api)
    proxy.cut()
    restarted = api.post(f"/admin/supervision/{LEDGER}/restart", headers=OPERATOR)
    assert restarted.status_code == 200  # its start did not fail: it started degraded
    ledger = _node(tree, LEDGER)
    assert ledger["status"] == "degraded"
    assert "database" in ledger["degraded_reason"]
    assert api.get("/ready").status_code == 503
    _unavailable(api.post("/api/v1/transactions", json=DEPOSIT, headers=headers))
    seq = tree.log.last_seq

    proxy.restore()
    # No message reaches the ledger or the pubsub listener (which lost its connection in
    # the cut) now: only their own retry ticks can bring them back, and /ready waits for both.
    _until_running(tree, LEDGER, deadline=10 * PREPARE_RETRY_SECONDS)
    _until_running(tree, LISTENER, deadline=10 * RECONNECT_SECONDS)
    assert api.get("/ready").status_code == 200
    assert api.post("/api/v1/transactions", json=DEPOSIT, headers=headers).status_code == 201
    _no_crash_since(tree, seq)


def _node(tree: Tree, path: str) -> dict:
    return next(n for n in walk(tree.tree()) if n["path"] == path)


def _until_running(tree: Tree, path: str, deadline: float) -> None:
    """Wait (at most ``deadline`` s) until the node shows running; a degraded actor's
    recovery sends no event."""
    started = time.monotonic()
    while _node(tree, path)["status"] != "running":
        assert time.monotonic() - started < deadline, _node(tree, path)
        time.sleep(0.05)  # reading in-process state that has no event to wait on
