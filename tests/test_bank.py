"""Jepsen's bank test through the actors, while a chaos thread crashes the ledger and the
transactions workers: money is never created, lost or posted twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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

from actors.ledger import VerifyChain
from bitnexus.ledger_schema import ledger_blocks
from supervisors import call, start_tree

USERS = 6
THREADS = 6
TRANSFERS_PER_THREAD = 40


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
            clients = [
                pool.submit(transfers, users, TRANSFERS_PER_THREAD, seed, f"t{seed}")
                for seed in range(THREADS)
            ]
            # The main thread reads snapshots while the clients run.
            while not all(c.done() for c in clients):
                problems += filter(None, [snapshot_problem(engine, total)])
                snapshots += 1
            stop.set()
            confirmed = {k: v for c in clients for k, v in c.result().items()}
            crashes = chaos_done.result()
        assert problems == []
        assert snapshots > 0 and crashes > 0
        # Every confirmed transfer is in the ledger exactly once, and nothing else is.
        assert posted_transfers(engine) == confirmed
        assert len(set(confirmed.values())) == len(confirmed)
        assert snapshot_problem(engine, total) is None
        assert call("ledger", VerifyChain(), TIMEOUT)["valid"]
        with engine.connect() as conn:
            largest = conn.execute(sa.select(sa.func.max(ledger_blocks.c.transaction_count)))
            assert largest.scalar() > 1  # concurrent requests were group-committed
    finally:
        tree.stop()
