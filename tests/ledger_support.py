"""Helpers shared by the ledger, transactions and bank tests."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from actors.accounts import CreateUser
from actors.transactions import CreateTransaction
from bitnexus.ledger import Transaction
from bitnexus.ledger.postings import deposit, transfer
from bitnexus.ledger.schema import ledger_accounts, ledger_head
from bitnexus.ledger.store import Entry
from supervisors import call

TIMEOUT = 10.0
_emails = itertools.count()


def make_user(role: str = "user") -> int:
    email = f"user{next(_emails)}@example.com"
    user = call(
        "accounts",
        CreateUser({"email": email, "name": "U", "password": "p" * 12, "role": role}),
        TIMEOUT,
    )
    return user.id


def transact(user_id: int, **attrs) -> Transaction:
    """Create a transaction through the Transactions service."""
    return call("transactions", CreateTransaction(user_id, attrs), TIMEOUT)


def fund(user_id: int, amount: str, currency: str = "EUR") -> Transaction:
    return transact(user_id, kind="deposit", amount=amount, currency=currency)


def deposit_entry(user_id: int, minor: int, currency: str = "EUR", **extra) -> Entry:
    return Entry(
        "deposit", user_id, currency, minor, tuple(deposit(user_id, currency, minor)), **extra
    )


def transfer_entry(
    sender: int, recipient: int, minor: int, currency: str = "EUR", **extra
) -> Entry:
    moves = tuple(transfer(sender, recipient, currency, minor))
    return Entry("transfer", sender, currency, minor, moves, recipient_id=recipient, **extra)


def wallet_balances(conn: sa.Connection) -> dict[tuple[int | None, str], int]:
    rows = conn.execute(
        sa.select(ledger_accounts.c.user_id, ledger_accounts.c.currency, ledger_accounts.c.balance)
    )
    return {(r.user_id, r.currency): r.balance for r in rows}


@contextmanager
def writes_held(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Hold the ledger's write lock (the head row; SQLite's write lock) until the block
    ends; yields the holding connection."""
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.select(ledger_head.c.block_index).with_for_update()).all()
        yield conn


def tamper(engine: sa.Engine, statement: str) -> None:
    """Run ``statement`` past the append-only triggers, as the tables' owner could."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql(statement)
            return
        triggers = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ledger_%'"
        ).all()
        for name, _ in triggers:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        conn.exec_driver_sql(statement)
        for _, sql in triggers:
            conn.exec_driver_sql(sql)


def waiting_writers(holder: sa.Connection, count: int = 1) -> list[int]:
    """The process ids of the `count` sessions waiting for a lock ``holder`` holds (the
    ledgers of this or other processes), once exactly that many wait."""
    waiting = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + TIMEOUT
    while len(pids := holder.exec_driver_sql(waiting).scalars().all()) < count:
        holder.exec_driver_sql("SELECT pg_stat_clear_snapshot()")  # else frozen per transaction
        assert time.monotonic() < deadline, f"{len(pids)} of {count} writers waited for the lock"
        time.sleep(0.01)  # polling the server: there is no notification to wait on
    assert len(pids) == count, pids
    return pids
