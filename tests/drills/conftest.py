"""Fixtures for the drills: a fresh PostgreSQL database, a real server on it, the bank.

Short forms run in `make test`; `BITNEXUS_CHAOS=long` (`make chaos`) runs the long forms
and writes their figures into RELIABILITY.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))  # live_server

import drill_report
from drill_bank import Bank
from drill_mode import is_long
from drill_server import DrillServer

from bitnexus.database import migrate
from bitnexus.database.engine import make_engine


@pytest.fixture
def backend() -> str:
    return "postgresql"  # the drills are about a real server on a real PostgreSQL


@pytest.fixture
def drill_url(fresh_database_url: str) -> str:
    return fresh_database_url


@pytest.fixture
def drill_engine(drill_url: str, config_for) -> Iterator[sa.Engine]:
    engine = make_engine(config_for(drill_url))
    migrate.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def server(drill_url: str, drill_engine: sa.Engine, tmp_path: Path) -> Iterator[DrillServer]:
    srv = DrillServer(drill_url, tmp_path)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def bank(server: DrillServer, drill_engine: sa.Engine) -> Iterator[Bank]:
    workload = Bank(lambda: server.base, drill_engine)
    workload.open_accounts()
    try:
        yield workload
    finally:
        workload.stop.set()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if is_long() and drill_report.summaries:
        drill_report.write()
