"""`bitnexus db create|setup|reset` and `bitnexus migrate`'s report, on both backends."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import devdb
import pytest
import sqlalchemy as sa

from bitnexus.database import migrate
from bitnexus.database.engine import make_engine

BITNEXUS = [sys.executable, "-m", "bitnexus"]


def bitnexus(url: str, *args: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BITNEXUS_")}
    env.update(DATABASE_URL=url, BITNEXUS_ARGON2_MEMORY_COST="64")
    return subprocess.run(
        [*BITNEXUS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def missing_url(backend, tmp_path) -> Iterator[str]:
    """A database that does not exist yet (dropped afterwards if a test made it)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'not' / 'yet' / 'app.db'}"
        return
    name = f"bitnexus_test_{os.getpid()}_{secrets.token_hex(4)}"  # dropped if left over
    try:
        yield f"postgres://{devdb.PG_USER}@{devdb.PG_HOST}:{devdb.PG_PORT}/{name}"
    finally:
        devdb.drop_database(name)


def counts(url: str, config_for) -> dict[str, int]:
    engine = make_engine(config_for(url.replace("postgres://", "postgresql+psycopg://", 1)))
    try:
        with engine.connect() as conn:
            return {
                table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("users", "products", "ledger_transactions")
            }
    finally:
        engine.dispose()


def test_db_create_then_migrate_reports_each_migration(missing_url, tmp_path, config_for):
    created = bitnexus(missing_url, "db", "create", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "created" in created.stdout
    again = bitnexus(missing_url, "db", "create", cwd=tmp_path)
    assert "already exists" in again.stdout
    done = bitnexus(missing_url, "migrate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    engine = make_engine(config_for(missing_url.replace("postgres://", "postgresql://", 1)))
    try:
        revisions = migrate.pending(engine)
    finally:
        engine.dispose()
    assert revisions == []
    applied = [line.split()[2] for line in done.stdout.splitlines() if "applied" in line]
    versions = Path(migrate.SCRIPT_LOCATION, "versions").glob("[0-9]*.py")
    assert applied == sorted(path.name[:4] for path in versions)  # every one, in order
    assert "applied" not in bitnexus(missing_url, "migrate", cwd=tmp_path).stdout


def test_db_setup_seeds_a_demo(missing_url, tmp_path, config_for):
    done = bitnexus(missing_url, "db", "setup", "--seed", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert counts(missing_url, config_for) == {
        "users": 3,
        "products": 2,
        "ledger_transactions": 3,
    }
    for who in ("vendor", "buyer", "affiliate"):
        assert f"{who}@example.com" in done.stdout


def test_db_reset_refuses_without_yes_then_starts_over(missing_url, tmp_path, config_for):
    assert bitnexus(missing_url, "db", "setup", "--seed", cwd=tmp_path).returncode == 0
    refused = bitnexus(missing_url, "db", "reset", cwd=tmp_path)
    assert refused.returncode == 1
    assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
    assert counts(missing_url, config_for)["users"] == 3  # untouched
    done = bitnexus(missing_url, "db", "reset", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert counts(missing_url, config_for) == {
        "users": 0,
        "products": 0,
        "ledger_transactions": 0,
    }
