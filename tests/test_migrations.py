"""Migrations: empty -> head -> base on both databases, and no drift from the models."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bitnexus.config import Config
from bitnexus.database import migrate
from bitnexus.database.engine import make_engine
from bitnexus.database.schema import load_all_schemas


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_to_head_and_down_to_base(fresh_database_url, config_for):
    engine = make_engine(config_for(fresh_database_url))
    try:
        assert migrate.current(engine) is None
        migrate.upgrade(engine)
        assert migrate.current(engine) == _head()
        assert {"users", "products", "alembic_version"} <= _tables(engine)
        migrate.downgrade(engine, "base")
        assert migrate.current(engine) is None
        assert _tables(engine) <= {"alembic_version"}
        migrate.upgrade(engine)  # and up again: downgrade left nothing behind
        assert migrate.current(engine) == _head()
    finally:
        engine.dispose()


def test_models_match_migrated_schema(fresh_database_url, config_for):
    engine = make_engine(config_for(fresh_database_url))
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, load_all_schemas())
        assert diff == []
    finally:
        engine.dispose()


def _head() -> str:
    from alembic.script import ScriptDirectory

    engine = make_engine(Config.from_env({"BITNEXUS_DATABASE_URL": "sqlite://"}))
    try:
        return ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_migrate_runs_are_serialized(fresh_database_url, config_for):
    engines = [make_engine(config_for(fresh_database_url)) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(migrate.upgrade, engines))  # raises if any run failed
        assert migrate.current(engines[0]) == _head()
    finally:
        for engine in engines:
            engine.dispose()
