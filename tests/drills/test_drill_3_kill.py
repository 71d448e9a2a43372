"""Drill 3: SIGKILL one gunicorn worker, then the whole server (master and workers at
once), under the bank workload; start it again on the same port and database.
Everything acknowledged before the kill is there and the chain verifies."""

from __future__ import annotations

import os
import signal
import time

import sqlalchemy as sa
from drill_check import Summary, check_bank
from drill_mode import pick
from drill_report import record
from drill_server import wait_until

from bitnexus.ledger.schema import ledger_transactions


def test_killed_processes_lose_nothing_acknowledged(server, bank, drill_engine):
    rounds, pause = int(pick(1, 4)), pick(2, 5)
    bank.start(clients=8)
    killed_workers = killed_servers = 0
    down_seconds: list[float] = []
    for _ in range(rounds):
        time.sleep(pause)  # load between the blows
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        killed_workers += 1
        wait_until(lambda v=victim: _replaced(server, v), 30, "worker replaced")
        time.sleep(pause)
        with bank.stats.lock:
            acked_before = set(bank.stats.acknowledged.values())
        server.kill_all()
        killed_servers += 1
        started = time.monotonic()
        server.start()  # same port: the clients' retries find it again
        down_seconds.append(round(time.monotonic() - started, 2))
        # Durable: everything acknowledged before the kill is stored after the restart.
        missing = acked_before - _stored(drill_engine)
        assert not missing, f"acknowledged before the kill, gone after: {sorted(missing)[:10]}"
    time.sleep(pause)
    bank.finish()
    summary = check_bank(bank, server.base, Summary("3 killed processes"))
    summary.figures.update(
        workers_killed=killed_workers,
        servers_killed=killed_servers,
        restart_seconds=down_seconds,
    )
    record(summary)
    assert not summary.violations


def _stored(engine: sa.Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(ledger_transactions.c.id)).scalars())


def _replaced(server, victim: int) -> bool:
    pids = server.worker_pids()
    return victim not in pids and len(pids) == 2
