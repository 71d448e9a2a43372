"""Fixtures for the channel tests: a real server (gunicorn, 2 workers, PostgreSQL) and the
official `phoenix` client under Node, installed from the npm registry on first use."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import devdb
import pytest
from channels_support import OPERATOR_TOKEN, PASSWORD, SECRET, Node, User, install_client
from chromium_support import chromium  # noqa: F401 (a fixture for page tests)

from bitnexus.config import Config
from bitnexus.database import migrate
from bitnexus.database.engine import make_engine
from web import tokens

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))
from live_server import LiveServer, start

IDLE_TIMEOUT = 3  # seconds; the clients of these tests heartbeat every second
_emails = itertools.count(1)


def server_env(**extra: str) -> dict[str, str]:
    return {
        "BITNEXUS_SECRET_KEY": SECRET,
        "BITNEXUS_ADMIN_TOKEN": OPERATOR_TOKEN,
        "BITNEXUS_ARGON2_TIME_COST": "1",
        "BITNEXUS_ARGON2_MEMORY_COST": "64",
        "BITNEXUS_ARGON2_PARALLELISM": "1",
        "BITNEXUS_ACCOUNTS_POOL": "2",
        "BITNEXUS_PRODUCTS_POOL": "2",
        "BITNEXUS_SOCKET_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
        **extra,
    }


@pytest.fixture(scope="session")
def phoenix_client() -> None:
    install_client()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with devdb.database("bitnexus_test_") as url:
        engine = make_engine(Config(database_url=url))
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture(scope="module")
def server(pg_url, tmp_path_factory) -> Iterator[LiveServer]:
    """gunicorn with 2 workers on PostgreSQL, shared by a module's tests."""
    live = start(pg_url, tmp_path_factory.mktemp("server"), server_env(), workers=2)
    try:
        yield live
    finally:
        live.stop()
    log = live.stderr()  # the only tracebacks: crashes a test asked for
    assert log.count("Traceback") == log.count("CrashRequested: crash requested"), log[-4000:]


@pytest.fixture
def node(phoenix_client, tmp_path) -> Iterator[Node]:
    client = Node(tmp_path / "node.txt")
    try:
        yield client
    finally:
        client.close()


def register(live: LiveServer, role: str = "user") -> User:
    """A new user registered over HTTP, with a JWT for them (admin: a JWT with that role)."""
    email = f"channels-{role}-{next(_emails)}@example.com"
    attrs = {"email": email, "name": role.title(), "password": PASSWORD}
    if role == "affiliate":
        attrs["role"] = role
    reply = live.request("POST", "/api/v1/auth/register", {"user": attrs})
    assert reply.status == 201, reply.body
    user_id = reply.body["data"]["id"]
    return User(user_id, tokens.issue(SECRET, user_id, role), role)
