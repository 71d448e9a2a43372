"""Tampering with the ledger's tables is found and acted on, through a real server
(2 workers): rows outside the chain fail verification, damage found stops writes on every
process until an operator clears it (re-verifying), the start-up check reads balances and
the head, the head only moves forward, and TRUNCATE is refused."""

from __future__ import annotations

import os
import subprocess

import pytest
import sqlalchemy as sa
from live_server import BITNEXUS, start
from security_support import ENV, OPERATOR, deposit, register
from sqlalchemy.exc import DBAPIError

from bitnexus.ledger.schema import ledger_accounts

ON_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"])
DEPOSIT = {"transaction": {"kind": "deposit", "amount": "1.00", "currency": "EUR"}}


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, ENV, workers=2)
    yield server
    server.stop()


def as_superuser(engine, *statements: str) -> None:
    """Statements with the ledger's triggers and foreign keys bypassed (replica role)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for statement in statements:
            conn.exec_driver_sql(statement)


def eur_account(engine, user_id: int) -> tuple[int, int]:
    a = ledger_accounts
    query = sa.select(a.c.id, a.c.balance).where(a.c.user_id == user_id, a.c.currency == "EUR")
    with engine.connect() as conn:
        return tuple(conn.execute(query).one())


def deposits(live, who, times: int = 4) -> list[int]:
    """Statuses of ``times`` deposits: with connection-close, both workers answer some."""
    return [
        live.request("POST", "/api/v1/transactions", DEPOSIT, who.headers).status
        for _ in range(times)
    ]


def clear_degraded(database_url, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, **ENV, "BITNEXUS_DATABASE_URL": database_url}
    return subprocess.run(
        [*BITNEXUS, "ledger", "clear-degraded"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@ON_POSTGRESQL
def test_money_from_nowhere_is_found_and_stops_every_writer(live, engine, database_url, tmp_path):
    alice = register(live, "alice")
    deposit(live, alice, "10.00")
    account, balance = eur_account(engine, alice.id)
    as_superuser(
        engine,
        "INSERT INTO ledger_postings (transaction_id, position, account_id, amount, balance_after)"
        f" VALUES (999999, 0, {account}, 100000, {balance + 100000})",
        f"UPDATE ledger_accounts SET balance = {balance + 100000} WHERE id = {account}",
    )
    verified = live.request("GET", "/admin/ledger/verify", headers=OPERATOR)
    assert verified.status == 200, verified.body
    report = verified.body["data"]
    assert report["valid"] is False, report
    assert report["unchained_rows"] == ["1 posting(s) in no chained transaction"]
    assert [m["id"] for m in report["balance_mismatches"]] == [account]
    assert set(deposits(live, alice)) == {503}, "no worker writes once damage is found"

    refused = clear_degraded(database_url, tmp_path)
    assert refused.returncode == 1 and "does not verify" in refused.stderr
    assert set(deposits(live, alice)) == {503}

    as_superuser(
        engine,
        "DELETE FROM ledger_postings WHERE transaction_id = 999999",
        f"UPDATE ledger_accounts SET balance = {balance} WHERE id = {account}",
    )
    cleared = clear_degraded(database_url, tmp_path)
    assert cleared.returncode == 0, cleared.stderr
    assert set(deposits(live, alice)) == {201}


@ON_POSTGRESQL
def test_the_start_up_check_reads_balances(live, engine, database_url, tmp_path):
    alice = register(live, "alice")
    deposit(live, alice, "10.00")
    account, balance = eur_account(engine, alice.id)
    live.stop()
    as_superuser(
        engine, f"UPDATE ledger_accounts SET balance = {balance + 500} WHERE id = {account}"
    )
    again = start(database_url, tmp_path, ENV, workers=2, until="answering")
    try:
        assert set(deposits(again, alice)) == {503}
        not_ready = again.request("GET", "/ready").body["not_running"]
        assert {"path": "root/services/ledger", "status": "degraded"} in not_ready
    finally:
        again.stop()


def test_the_head_only_moves_forward(engine, backend):
    from bitnexus.ledger.store import ensure_genesis

    ensure_genesis(engine)
    for statement in [
        "UPDATE ledger_head SET block_index = 5",
        "UPDATE ledger_head SET block_index = block_index",
        "DELETE FROM ledger_head",
    ]:
        with pytest.raises(DBAPIError, match="ledger_head only moves"), engine.begin() as conn:
            conn.exec_driver_sql(statement)


@ON_POSTGRESQL
def test_a_head_set_back_is_found_at_start(live, engine, database_url, tmp_path):
    alice = register(live, "alice")
    deposit(live, alice, "10.00")
    live.stop()
    as_superuser(engine, "UPDATE ledger_head SET block_index = 0")
    again = start(database_url, tmp_path, ENV, workers=2, until="answering")
    try:
        assert set(deposits(again, alice)) == {503}, "degraded, not crashing on a duplicate"
        not_ready = again.request("GET", "/ready").body["not_running"]
        assert {"path": "root/services/ledger", "status": "degraded"} in not_ready
    finally:
        again.stop()


@ON_POSTGRESQL
def test_truncate_of_ledger_tables_is_refused(engine):
    for table in [
        "ledger_postings",
        "ledger_transactions",
        "ledger_blocks",
        "ledger_head",
        "ledger_accounts",
    ]:
        with pytest.raises(DBAPIError, match="immutable"), engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
