"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

- `backend`: "sqlite" or "postgresql" (tests using `database_url`/`config`/`engine` run twice).
- `database_url`: SQLite file in tmp_path, or this session's PostgreSQL test database.
- `config`: a Config for that database with cheap (still argon2id) password hashing.
- `engine`: migrated to head with every table empty (PostgreSQL: TRUNCATE of all tables but
  alembic_version; SQLite: a fresh copy of a migrated file). Works for tables added later.
- `services`: the application's tree on `config` and `engine`, from the plugin's
  `bitnexus_tree` (bitnexus/testing.py).
- `fresh_database_url`: an empty, unmigrated database of the backend (for migration tests).

PostgreSQL must be reachable: the session starts it if needed and fails loudly otherwise.
Note: the PostgreSQL TRUNCATE also empties rows a migration seeds; a schema that seeds rows
must re-create them in its own fixture (SQLite copies keep them).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import devdb
import psycopg
import pytest
import sqlalchemy as sa

from bitnexus.config import Config
from bitnexus.database import migrate
from bitnexus.database.engine import make_engine
from bitnexus.testing import empty_tables
from supervisors import Tree

TEST_DB_PREFIX = "bitnexus_test_"
BACKENDS = ("sqlite", "postgresql")


# ---------------------------------------------------------------- PostgreSQL server


def _pg_admin() -> psycopg.Connection:
    return devdb.admin_connection()


def ensure_postgres() -> None:
    """Make sure PostgreSQL answers on 127.0.0.1:5432; exit the session loudly if not."""
    report = devdb.start_postgres()
    if report is None:
        return
    pytest.exit(
        f"PostgreSQL is not reachable on {devdb.PG_HOST}:{devdb.PG_PORT} as {devdb.PG_USER}, "
        f"even after trying to start it:\n{report}\nSee README.md, 'Two commands'.",
        returncode=3,
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    ensure_postgres()
    devdb.drop_stale_databases(TEST_DB_PREFIX)


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the duration of the block; yields its URL."""
    with devdb.database(TEST_DB_PREFIX) as url:
        yield url


# ---------------------------------------------------------------- configuration


def make_config(database_url: str, **overrides: object) -> Config:
    """A Config for tests: argon2id with the smallest sensible cost, short timeouts."""
    config = Config.from_env(
        {
            "BITNEXUS_DATABASE_URL": database_url,
            "BITNEXUS_ARGON2_TIME_COST": "1",
            "BITNEXUS_ARGON2_MEMORY_COST": "64",
            "BITNEXUS_ARGON2_PARALLELISM": "1",
            "BITNEXUS_ACCOUNTS_POOL": "2",
            "BITNEXUS_PRODUCTS_POOL": "2",
            "BITNEXUS_LEDGER_SIGNING_KEY": "5e" * 32,  # checkpoints are signed in tests too
        }
    )
    return dataclasses.replace(config, **overrides)


def migrated(url: str) -> None:
    """Migrate the database at `url` to head."""
    engine = make_engine(make_config(url))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def config_for():
    """`make_config` as a fixture: test modules must not import conftest (name clashes)."""
    return make_config


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """This session's PostgreSQL database, migrated to head once."""
    with pg_database() as url:
        migrated(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test (faster than migrating)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrated(f"sqlite:///{path}")  # disposing the engine checkpoints and removes the WAL
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of `backend` (PostgreSQL: shared by the session, see `engine`)."""
    if backend == "sqlite":
        path = tmp_path / "bitnexus.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_session_url")


@pytest.fixture
def config(database_url: str) -> Config:
    return make_config(database_url)


@pytest.fixture
def engine(config: Config, backend: str) -> Iterator[sa.Engine]:
    """The application's engine on a migrated, empty database."""
    eng = make_engine(config)
    if backend == "postgresql":
        empty_tables(eng)  # before the test, so a previous failure can't leak rows
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of `backend`."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with pg_database() as url:
        yield url


# The application's tree comes from the pytest plugin (bitnexus/testing.py), run on the
# fixtures above: every backend, and the engine a test may instrument.


@pytest.fixture
def bitnexus_config(config: Config) -> Config:
    return config


@pytest.fixture
def bitnexus_engine(engine: sa.Engine) -> sa.Engine:
    return engine


@pytest.fixture
def services(bitnexus_tree: Tree) -> Tree:
    """The application's supervision tree (bitnexus.tree) running on `engine`."""
    return bitnexus_tree


@pytest.fixture
def terminate_backends(engine: sa.Engine):
    """A function killing every server process connected to `engine`'s PostgreSQL database
    (pg_terminate_backend, from an outside connection); returns how many it killed."""

    def terminate() -> int:
        with _pg_admin() as conn:
            row = conn.execute(  # with a timeout, it waits until each backend is gone
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (engine.url.database,),
            ).fetchone()
        return int(row[0]) if row else 0

    return terminate
