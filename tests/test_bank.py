"""Jepsen's bank test through the actors, while a chaos thread crashes the ledger and the
transactions workers: money is never created, lost or posted twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from bank_support import (
    START_MINOR,
    chaos,
    chaos_spec,
    posted_transfers,
    snapshot_problem,
    transfers,
)
from ledger_support import TIMEOUT, fund, make_user

from actors.ledger_readers import VerifyChain
from bitnexus.database.engine import snapshot
from bitnexus.ledger.schema import ledger_blocks
from bitnexus.ledger.verify import verify_chain
from supervisors import call, start_tree

USERS = 6
THREADS = 6
TRANSFERS_PER_THREAD = 40
PROCESSES = 2
HERE = Path(__file__).resolve().parent


def test_bank_under_chaos(config, engine):
    tree = start_tree(chaos_spec(config, engine))
    try:
        users = [make_user() for _ in range(USERS)]
        for user in users:
            fund(user, "100")
        total = USERS * START_MINOR
        stop = threading.Event()
        problems: list[str] = []
        snapshots = 0
        with ThreadPoolExecutor(THREADS + 1) as pool:
            chaos_done = pool.submit(chaos, stop, 1)
            try:
                clients = [
                    pool.submit(transfers, users, TRANSFERS_PER_THREAD, seed, f"t{seed}")
                    for seed in range(THREADS)
                ]
                # The main thread reads snapshots while the clients run.
                while not all(c.done() for c in clients):
                    problems += filter(None, [snapshot_problem(engine, total)])
                    snapshots += 1
            finally:
                stop.set()
            confirmed = {k: v for c in clients for k, v in c.result().items()}
            crashes = chaos_done.result()
        assert problems == []
        assert snapshots > 0 and crashes > 0
        # Every confirmed transfer is in the ledger exactly once, and nothing else is.
        assert posted_transfers(engine) == confirmed
        assert len(set(confirmed.values())) == len(confirmed)
        assert snapshot_problem(engine, total) is None
        assert call("ledger_readers", VerifyChain(), TIMEOUT).valid
        with engine.connect() as conn:
            largest = conn.execute(sa.select(sa.func.max(ledger_blocks.c.transaction_count)))
            assert largest.scalar() > 1  # concurrent requests were group-committed
    finally:
        tree.stop()


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite is single-process by design
def test_bank_across_processes(config, engine, tmp_path):
    tree = start_tree(chaos_spec(config, engine))
    try:
        users = [make_user() for _ in range(USERS)]
        for user in users:
            fund(user, "100")
    finally:
        tree.stop()
    total = USERS * START_MINOR
    env = os.environ | {
        "BITNEXUS_DATABASE_URL": config.database_url,
        "BITNEXUS_ARGON2_TIME_COST": "1",
        "BITNEXUS_ARGON2_MEMORY_COST": "64",
        "BITNEXUS_ARGON2_PARALLELISM": "1",
        "BITNEXUS_ACCOUNTS_POOL": "2",
        "BITNEXUS_PRODUCTS_POOL": "1",
        "BITNEXUS_TRANSACTIONS_POOL": "3",
    }
    ids = ",".join(map(str, users))
    outputs, processes = [], []
    for n in range(PROCESSES):
        out, err = tmp_path / f"p{n}.out", tmp_path / f"p{n}.err"
        outputs.append((out, err))
        with out.open("w") as stdout, err.open("w") as stderr:
            args = [f"p{n}", str(n), ids, str(THREADS // 2), str(TRANSFERS_PER_THREAD)]
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(HERE / "bank_process.py"), *args],
                    stdout=stdout,
                    stderr=stderr,
                    env=env,
                    cwd=HERE.parent,
                )
            )
    problems: list[str] = []
    snapshots = 0
    while any(p.poll() is None for p in processes):  # snapshots while they run
        problems += filter(None, [snapshot_problem(engine, total)])
        snapshots += 1
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.wait() == 0, err.read_text()[-3000:]
    confirmed: dict[str, int] = {}
    for out, _ in outputs:
        confirmed |= json.loads(out.read_text())
    assert problems == [] and snapshots > 0
    assert posted_transfers(engine) == confirmed
    assert len(set(confirmed.values())) == len(confirmed)
    assert snapshot_problem(engine, total) is None
    with snapshot(engine) as conn:
        report = verify_chain(conn)
    assert report.valid, report
    assert report.blocks_checked == report.head + 1  # one linear chain from genesis
