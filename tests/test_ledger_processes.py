"""Exactly once across processes: the same idempotency key sent at the same instant
through two processes' ledgers. The test holds the chain head's lock, hands the request
to both processes, waits until both ledgers wait for that lock (a barrier inside the
database), then lets go; many times over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ledger_support import fund, make_user, waiting_writers, writes_held

from bitnexus.config import Config
from bitnexus.ledger.schema import ledger_transactions

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])  # SQLite: one process
HERE = Path(__file__).resolve().parent
ROUNDS = 20
DEPOSIT = {"kind": "deposit", "amount": "1.00", "currency": "EUR"}


@pytest.fixture
def processes(config: Config, engine: sa.Engine, tmp_path: Path) -> Iterator[list]:
    env = os.environ | {
        "BITNEXUS_DATABASE_URL": config.database_url,
        "BITNEXUS_ACCOUNTS_POOL": "1",
        "BITNEXUS_PRODUCTS_POOL": "1",
        "BITNEXUS_TRANSACTIONS_POOL": "1",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "ledger_process.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(tmp_path / f"p{n}.err").open("w"),
            env=env,
            cwd=HERE,
            text=True,
        )
        for n in range(2)
    ]
    try:
        for n, proc in enumerate(procs):
            started = json.loads(proc.stdout.readline() or "null")
            assert started == "ready", (tmp_path / f"p{n}.err").read_text()
        yield procs
    finally:
        for proc in procs:
            proc.stdin.close()
            assert proc.wait(30) == 0


def test_one_key_at_one_instant_in_two_processes_posts_once(services, engine, processes):
    user = make_user()
    fund(user, "1")  # the wallet exists: both writers lock the same accounts
    answers = []
    for n in range(ROUNDS):
        attrs = {**DEPOSIT, "idempotency_key": f"same-{n}"}
        line = json.dumps({"user_id": user, "attrs": attrs}) + "\n"
        with writes_held(engine) as holder:
            for proc in processes:
                proc.stdin.write(line)
                proc.stdin.flush()
            waiting_writers(holder, 2)  # both ledgers are inside their block, waiting
        answers.append([json.loads(proc.stdout.readline()) for proc in processes])
    for n, (first, second) in enumerate(answers):
        assert first["id"] == second["id"], (n, first, second)
        assert sorted([first["replay"], second["replay"]]) == [False, True], (n, first, second)
    t = ledger_transactions
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.idempotency_key, sa.func.count())
            .where(t.c.idempotency_key.like("same-%"))
            .group_by(t.c.idempotency_key)
        ).all()
    assert dict(rows) == {f"same-{n}": 1 for n in range(ROUNDS)}
