"""Fixtures for the channel tests: a real server (gunicorn, 2 workers, PostgreSQL) and the
official `phoenix` client under Node, installed from the npm registry on first use."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import devdb
import pytest
from channels_support import Node, install_client, server_env
from chromium_support import chromium  # noqa: F401 (a fixture for page tests)

from bitnexus.config import Config
from bitnexus.database import migrate
from bitnexus.database.engine import make_engine

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))
from live_server import LiveServer, start


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
