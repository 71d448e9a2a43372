"""Apply Alembic migrations programmatically (`bitnexus migrate`), from any cwd."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import migrations

SCRIPT_LOCATION = Path(migrations.__file__).resolve().parent


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic config for the installed migrations package, bound to `engine`."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(
    engine: Engine, revision: str = "head", on_applied: Callable[[str, str], None] | None = None
) -> None:
    """Migrate the database up to `revision`; `on_applied(revision, title)` after each step."""

    def upgrade_reporting(cfg: AlembicConfig) -> None:
        if on_applied is not None:
            cfg.attributes["on_version_apply"] = lambda step: on_applied(
                step.up_revision_id, (step.up_revision.doc or "").strip()
            )
        command.upgrade(cfg, revision)

    _run(engine, upgrade_reporting)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def current(engine: Engine) -> str | None:
    """The revision the database is at (None when unmigrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending(engine: Engine) -> list[str]:
    """The revisions between the database's and head, oldest first (empty: up to date)."""
    scripts = _scripts()
    at = current(engine)
    steps = scripts.iterate_revisions("heads", at or "base")
    return [script.revision for script in reversed(list(steps)) if script.revision != at]


@cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once (`pending` runs on every readiness probe)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    return ScriptDirectory.from_config(cfg)


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
