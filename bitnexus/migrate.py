"""Apply Alembic migrations programmatically (`bitnexus migrate`), from any cwd."""

from __future__ import annotations

from pathlib import Path

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


def _run(engine: Engine, action: object) -> None:
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        action(cfg)  # type: ignore[operator]
        conn.commit()
