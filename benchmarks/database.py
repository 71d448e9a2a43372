"""A fresh, migrated PostgreSQL database per benchmark, seeded with funded wallets."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from benchmarks.server import LEDGER_SIGNING_KEY
from bitnexus.common.errors import ValidationFailed
from bitnexus.config import Config
from bitnexus.database import migrate
from bitnexus.database.engine import make_engine
from bitnexus.database.schema import users, utcnow
from bitnexus.ledger.postings import deposit
from bitnexus.ledger.store import Entry, ensure_genesis, record
from tests import devdb

PREFIX = "bitnexus_bench_"
# Minor units per wallet: no run's transfers exhaust it, and one deposit of it stays
# within the default EUR limits (per transaction and per wallet).
FUNDS = 10**8
SEED_BLOCK = 1_000  # deposits per block while funding


def start() -> None:
    """Start PostgreSQL like the tests do, and drop databases of dead benchmark runs."""
    report = devdb.start_postgres()
    if report is not None:
        raise SystemExit(
            f"PostgreSQL is not reachable on {devdb.PG_HOST}:{devdb.PG_PORT}:\n{report}"
        )
    devdb.drop_stale_databases(PREFIX)


def wait_for_postgres(deadline_seconds: float = 180.0) -> bool:
    """After an outage someone else caused: wait for the server to answer (never start it
    ourselves mid-drill), then drop this run's databases the outage left behind."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if devdb.reachable():
            with devdb.admin_connection() as conn:
                names = [
                    r[0]
                    for r in conn.execute(
                        "SELECT datname FROM pg_database WHERE datname LIKE %s",
                        (f"{PREFIX}{os.getpid()}\\_%",),
                    )
                ]
            for name in names:
                devdb.drop_database(name)
            return True
        time.sleep(1.0)  # polling an external server's restart
    return False


def config(url: str, **overrides: object) -> Config:
    """The application's defaults for ``url``, with cheap password hashing and a ledger
    signing key."""
    base = Config.from_env(
        {
            "BITNEXUS_DATABASE_URL": url,
            "BITNEXUS_ARGON2_TIME_COST": "1",
            "BITNEXUS_ARGON2_MEMORY_COST": "64",
            "BITNEXUS_ARGON2_PARALLELISM": "1",
            "BITNEXUS_LEDGER_SIGNING_KEY": LEDGER_SIGNING_KEY,  # checkpoints, as in production
        }
    )
    return dataclasses.replace(base, **overrides)


@contextmanager
def fresh(**overrides: object) -> Iterator[tuple[Config, sa.Engine]]:
    """A migrated database of its own, dropped afterwards: never the developer's data."""
    with devdb.database(PREFIX) as url, migrated(url, **overrides) as ready:
        yield ready


@contextmanager
def migrated(url: str, **overrides: object) -> Iterator[tuple[Config, sa.Engine]]:
    """The empty database at ``url`` migrated, with the ledger's genesis block."""
    cfg = config(url, **overrides)
    engine = make_engine(cfg)
    try:
        migrate.upgrade(engine)
        ensure_genesis(engine)
        yield cfg, engine
    finally:
        engine.dispose()


def create_users(engine: sa.Engine, count: int) -> list[int]:
    """``count`` users inserted directly (the password hash is never checked here)."""
    now = utcnow()
    rows = [
        {"email": f"bench{i}@example.com", "email_key": f"bench{i}@example.com", "name": "B",
         "password_hash": "-", "role": "user", "inserted_at": now, "updated_at": now}
        for i in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        return list(conn.execute(sa.insert(users).returning(users.c.id), rows).scalars())


def fund(cfg: Config, engine: sa.Engine, user_ids: list[int], currency: str = "EUR") -> None:
    """A deposit of ``FUNDS`` into each wallet, through the ledger's own write path."""
    for i in range(0, len(user_ids), SEED_BLOCK):
        entries = [
            Entry("deposit", u, currency, FUNDS, tuple(deposit(u, currency, FUNDS)))
            for u in user_ids[i : i + SEED_BLOCK]
        ]
        outcomes = record(engine, entries, cfg.currencies, cfg.limits)
        refused = [o for o in outcomes if isinstance(o, ValidationFailed)]
        if refused:
            raise RuntimeError(f"funding refused: {refused[0]}")


def wallets(cfg: Config, engine: sa.Engine, count: int) -> list[int]:
    ids = create_users(engine, count)
    fund(cfg, engine, ids)
    return ids


OUTAGE_LOCK_WAIT = 300.0  # a drill's outage lasts a few minutes at most


def no_outage() -> contextlib.AbstractContextManager[bool]:
    """Hold the drills' outage lock for the block; yields whether it was obtained."""
    return devdb.outage_lock(OUTAGE_LOCK_WAIT)
