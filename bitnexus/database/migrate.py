"""Apply Alembic migrations programmatically (`bitnexus migrate`), from any cwd."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Engine

import migrations

SCRIPT_LOCATION = Path(migrations.__file__).resolve().parent


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic config for the installed migrations package, bound to `engine`."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    _run(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def current(engine: Engine) -> str | None:
    """The revision the database is at (None when unmigrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# Serializes concurrent `bitnexus migrate` runs against one PostgreSQL database.
_PG_LOCK_KEY = 0x6269746E6578  # "bitnex"


def _run(engine: Engine, action: Callable[[AlembicConfig], None]) -> None:
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        locked = conn.dialect.name == "postgresql"
        if locked:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            action(cfg)
            conn.commit()
        finally:
            if locked:
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                conn.commit()
