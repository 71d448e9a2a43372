"""A pytest plugin for testing against the running services (registered as `bitnexus`
through the `pytest11` entry point: installing the package is enough).

Fixtures, each fresh per test:

- `bitnexus_app`: the application's tree started in the test's process (`.tree`,
  `.config`, `.engine`), on a migrated SQLite database in `tmp_path`, or on the
  PostgreSQL database `BITNEXUS_TEST_DATABASE_URL` names when it is set (migrated, then
  emptied before each test: give the tests a database of their own); stopped after the
  test. The client functions (`accounts.create_user`, ...) talk to it.
- `bitnexus_tree`: its live `supervisors.Tree` (for crashes, restarts and events).
- `bitnexus_config`, `bitnexus_engine`: what it runs on; override them to run it on your
  own. `bitnexus_settings`: `Config` fields the test configuration overrides (cheap
  password hashing, small pools); override it to change them.

The application is imported only when a test asks for a fixture.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bitnexus.config import Config
    from bitnexus.tree import App
    from supervisors import Tree

DATABASE_URL_VARIABLE = "BITNEXUS_TEST_DATABASE_URL"
# Still argon2id, at the smallest cost: tests hash many passwords.
TEST_SETTINGS: Mapping[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 64,
    "argon2_parallelism": 1,
    "accounts_pool_size": 2,
    "products_pool_size": 2,
    "transactions_pool_size": 4,
}


@pytest.fixture
def bitnexus_settings() -> Mapping[str, Any]:
    return TEST_SETTINGS


@pytest.fixture
def bitnexus_config(tmp_path: Path, bitnexus_settings: Mapping[str, Any]) -> Config:
    from bitnexus.config import Config

    url = os.environ.get(DATABASE_URL_VARIABLE)
    if not url:
        url = f"sqlite:///{tmp_path / 'bitnexus.db'}"
    elif not url.startswith("postgresql"):
        raise pytest.UsageError(f"{DATABASE_URL_VARIABLE} must name a PostgreSQL database")
    return dataclasses.replace(Config.from_env(), database_url=url, **bitnexus_settings)


@pytest.fixture
def bitnexus_engine(bitnexus_config: Config) -> Iterator[Engine]:
    """The configured database, migrated and with every table empty."""
    from bitnexus.database import migrate
    from bitnexus.database.engine import make_engine

    engine = make_engine(bitnexus_config)
    try:
        migrate.upgrade(engine)
        empty_tables(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def bitnexus_app(bitnexus_config: Config, bitnexus_engine: Engine) -> Iterator[App]:
    from bitnexus.tree import running

    with running(bitnexus_config, bitnexus_engine) as app:
        yield app


@pytest.fixture
def bitnexus_tree(bitnexus_app: App) -> Tree:
    return bitnexus_app.tree


def empty_tables(engine: Engine) -> None:
    """Empty every PostgreSQL table but alembic_version and restart their ids (the ledger
    creates its genesis block again as it starts). A SQLite file of a test's own is new."""
    import sqlalchemy as sa

    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
        if names:
            quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
            # The ledger's triggers refuse TRUNCATE (migration 0004); a superuser's replica
            # role skips them, as it skips every ordinary trigger.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
