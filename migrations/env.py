"""Alembic environment: one connection, the application's engine settings and metadata."""

from alembic import context

from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from bitnexus.database.schema import load_all_schemas

target_metadata = load_all_schemas()


def run_migrations_online() -> None:
    """Migrate over the connection `bitnexus migrate` passes, or one from the environment."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(Config.from_env())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # a table rebuild must not fire ON DELETE actions (outside a transaction)
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        _migrate(connection)
    finally:
        if sqlite:
            _check_foreign_keys(connection)


def _check_foreign_keys(connection: object) -> None:
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=ON")
    broken = raw.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by a migration: {broken[:5]}")


def _migrate(connection: object) -> None:
    report = context.config.attributes.get("on_version_apply")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
        transaction_per_migration=True,
        on_version_apply=(lambda step, **_: report(step)) if report else (),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
