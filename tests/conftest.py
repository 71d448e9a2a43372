"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

- `backend`: "sqlite" or "postgresql" (tests using `database_url`/`config`/`engine` run twice).
- `database_url`: SQLite file in tmp_path, or this session's PostgreSQL test database.
- `config`: a Config for that database with cheap (still argon2id) password hashing.
- `engine`: migrated to head with every table empty (PostgreSQL: TRUNCATE of all tables but
  alembic_version; SQLite: a fresh copy of a migrated file). Works for tables added later.
- `fresh_database_url`: an empty, unmigrated database of the backend (for migration tests).

PostgreSQL must be reachable: the session starts it if needed and fails loudly otherwise.
Note: the PostgreSQL TRUNCATE also empties rows a migration seeds; a schema that seeds rows
must re-create them in its own fixture (SQLite copies keep them).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from bitnexus import migrate
from bitnexus.config import Config
from bitnexus.db import make_engine

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_START_WAIT_SECONDS = 20.0
TEST_DB_PREFIX = "bitnexus_test_"
BACKENDS = ("sqlite", "postgresql")


# ---------------------------------------------------------------- PostgreSQL server


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname="postgres",
        connect_timeout=3,
        autocommit=True,
    )


def _pg_reachable() -> bool:
    try:
        _pg_admin().close()
    except psycopg.OperationalError:
        return False
    return True


def _start_pg_clusters() -> str:
    """Start every installed cluster's `main`; returns their output for the failure report."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    output = []
    for version in versions:
        proc = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        output.append(
            f"pg_ctlcluster {version} main start -> {proc.returncode}: "
            f"{proc.stdout.strip()} {proc.stderr.strip()}"
        )
    return "\n".join(output) or "no cluster under /etc/postgresql"


def ensure_postgres() -> None:
    """Make sure PostgreSQL answers on 127.0.0.1:5432; exit the session loudly if not."""
    if _pg_reachable():
        return
    report = _start_pg_clusters()
    deadline = time.monotonic() + PG_START_WAIT_SECONDS
    while time.monotonic() < deadline:
        if _pg_reachable():
            return
        time.sleep(0.25)  # polling an external server we just started; nothing to wait on
    pytest.exit(
        f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} as {PG_USER}, even after "
        f"trying to start it:\n{report}\nSee DEVELOPERS.md on starting the server.",
        returncode=3,
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    ensure_postgres()
    _drop_stale_test_databases()


def pg_url(dbname: str) -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def create_pg_database() -> str:
    """Create a uniquely named empty database; returns its name."""
    name = f"{TEST_DB_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    with _pg_admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_pg_database(name: str) -> None:
    """Drop a test database, terminating whatever is still connected to it."""
    with _pg_admin() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the duration of the block; yields its URL."""
    name = create_pg_database()
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


def _drop_stale_test_databases() -> None:
    """Drop test databases left by sessions that died (their pid is gone)."""
    with _pg_admin() as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (TEST_DB_PREFIX.replace("_", r"\_") + "%",),
            )
        ]
    for name in names:
        pid = name.removeprefix(TEST_DB_PREFIX).split("_", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            drop_pg_database(name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def clean_tables(engine: sa.Engine) -> None:
    """Empty every table except alembic_version and restart identities (PostgreSQL)."""
    with engine.begin() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
        if names:
            quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
            conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


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
        clean_tables(eng)  # before the test, so a previous failure can't leak rows
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


@pytest.fixture
def services(config: Config, engine: sa.Engine) -> Iterator[object]:
    """The application's supervision tree (bitnexus.tree) running on `engine`."""
    from bitnexus.tree import application_spec
    from supervisors import start_tree

    tree = start_tree(application_spec(config, engine))
    try:
        yield tree
    finally:
        tree.stop()


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
