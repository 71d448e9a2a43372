"""Scaling with data: the ledger's operations at 10 k, 100 k and 1 M transactions.

The bulk of each point is grown with `generate` (valid chained data, written with COPY);
the operations are then timed through the ledger actor, one caller at a time. A server
is started on each point too, so its memory can be compared across ledger sizes.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from actors.ledger import Record
from actors.ledger_readers import NAME as READERS
from actors.ledger_readers import Balances, History, Verify, VerifyChain
from benchmarks import database, generate, server
from benchmarks.ledger import _transfer_entry, _tree
from bitnexus.common.pagination import encode_cursor
from bitnexus.config import Config
from bitnexus.ledger import Checkpoint, checkpoints
from bitnexus.ledger.queries import HISTORY_CURSOR
from bitnexus.ledger.schema import ledger_transactions
from supervisors import call

POINTS = (10_000, 100_000, 1_000_000)
SAMPLES = 100  # calls per operation and point
WALLETS = 1_000
TIMEOUT = 30.0
VERIFY_CHAIN_TIMEOUT = 600.0


@dataclass(frozen=True)
class Point:
    transactions: int
    grow_seconds: float
    op_ms: dict[str, tuple[float, float]]  # operation -> (median, p99) milliseconds
    verify_chain_seconds: float
    verify_chain_valid: bool
    checkpoints: int  # signed checkpoints in the ledger at this size
    checkpoint_problems: tuple[str, ...]  # why they do not match the chain (none: they do)
    checkpoint_every: int  # blocks between them
    rss_mib: float  # one server worker after serving reads and writes at this size

    @property
    def verify_rate(self) -> float:
        return self.transactions / self.verify_chain_seconds


def _timed(fn: Callable[[random.Random], object], rng: random.Random) -> tuple[float, float]:
    samples = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        fn(rng)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1e3, samples[int(len(samples) * 0.99)] * 1e3


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(ledger_transactions)
        return conn.execute(query).scalar_one()


def _operations(ids: list[int], last_id: int) -> dict[str, Callable[[random.Random], object]]:
    def transfer(rng: random.Random) -> object:
        sender, recipient = rng.sample(ids, 2)
        return call("ledger", Record(_transfer_entry(sender, recipient)), TIMEOUT)

    return {
        "record a transfer": transfer,
        "get_history (first page of 50)": lambda rng: call(
            READERS, History(rng.choice(ids), limit=50), TIMEOUT
        ),
        "get_history (a page deep in the past)": lambda rng: call(
            READERS, History(rng.choice(ids), limit=50, cursor=_old_cursor(last_id)), TIMEOUT
        ),
        "verify(transaction), any": lambda rng: call(
            READERS, Verify(rng.randint(1, last_id)), TIMEOUT
        ),
        "verify(transaction), among the last 1,000": lambda rng: call(
            READERS, Verify(rng.randint(last_id - 999, last_id)), TIMEOUT
        ),
        "balances": lambda rng: call(READERS, Balances(rng.choice(ids)), TIMEOUT),
    }


def _old_cursor(last_id: int) -> str:
    """A history cursor at the oldest tenth of the ledger: the page behind it is a keyset
    seek deep into the past, which must cost what the first page costs (never an OFFSET)."""
    return encode_cursor(HISTORY_CURSOR, last_id // 10)


def _server_rss(url: str, ids: list[int]) -> float:
    """One worker's RSS after a few hundred reads and writes over HTTP at this size."""
    with server.serve(url, 1, 16, {}) as srv:
        rng = random.Random(5)
        for _ in range(100):
            sender, recipient = rng.sample(ids, 2)
            auth = {"authorization": f"Bearer {server.user_token(sender)}"}
            body = {"transaction": {"kind": "transfer", "amount": "0.01", "currency": "EUR",
                                    "recipient_id": recipient}}  # fmt: skip
            for method, path, data in (
                ("POST", "/api/v1/transactions", body),
                ("GET", "/api/v1/transactions?limit=50", None),
                ("GET", f"/api/v1/users/{sender}/balances", None),
            ):
                raw = None if data is None else json.dumps(data).encode()
                req = urllib.request.Request(srv.base + path, raw, auth, method=method)
                req.add_header("content-type", "application/json")
                with urllib.request.urlopen(req, timeout=30) as response:
                    response.read()
        return srv.rss_mib()


def run(points: tuple[int, ...] = POINTS) -> list[Point]:
    """Grow and measure point by point, each under the drills' outage lock on its own: the
    whole section takes longer than a drill is willing to wait for the lock."""
    limit = int(os.environ.get("BENCH_SCALE_MAX", max(points)))
    results: list[Point] = []
    with database.fresh() as (cfg, engine):
        url = engine.url.render_as_string(hide_password=False)
        with database.no_outage():
            ids = database.wallets(cfg, engine, WALLETS)
        rng = random.Random(11)
        for target in (p for p in points if p <= limit):
            with database.no_outage():
                results.append(_point(cfg, engine, url, ids, target, rng))
    return results


def _point(
    cfg: Config, engine: sa.Engine, url: str, ids: list[int], target: int, rng: random.Random
) -> Point:
    print(f"  scaling {target:,}: growing …", flush=True)
    started = time.perf_counter()
    generate.grow(engine, cfg, target - _count(engine))
    grown = time.perf_counter() - started
    with _tree(cfg, engine):
        print(f"  scaling {target:,}: operations …", flush=True)
        ops = {name: _timed(fn, rng) for name, fn in _operations(ids, target).items()}
        print(f"  scaling {target:,}: verify_chain …", flush=True)
        started = time.perf_counter()
        report = call(READERS, VerifyChain(), VERIFY_CHAIN_TIMEOUT)
        chain = time.perf_counter() - started
    signed, problems = _checkpoints(cfg, engine)
    print(f"  scaling {target:,}: server …", flush=True)
    return Point(
        target,
        grown,
        ops,
        chain,
        report.valid,
        len(signed),
        tuple(problems),
        cfg.ledger_checkpoint_every,
        _server_rss(url, ids),
    )


def _checkpoints(cfg: Config, engine: sa.Engine) -> tuple[list[Checkpoint], list[str]]:
    """Every signed checkpoint, and what `bitnexus ledger verify` finds wrong with them."""
    assert cfg.ledger_signing_key is not None
    public = checkpoints.public_hex(checkpoints.load_key(cfg.ledger_signing_key))
    with engine.connect() as conn:
        signed = checkpoints.all_checkpoints(conn)
        return signed, checkpoints.against_chain(conn, signed, public)


def markdown(points: list[Point]) -> str:
    names = list(points[0].op_ms)
    head = "| operation | " + " | ".join(f"{p.transactions:,} txs" for p in points) + " |"
    lines = [head, "| --- |" + " ---: |" * len(points)]
    for name in names:
        cells = " | ".join(f"{p.op_ms[name][0]:.2f} ({p.op_ms[name][1]:.1f})" for p in points)
        lines.append(f"| {name}, median (p99) ms | {cells} |")
    cells = " | ".join(
        f"{p.verify_chain_seconds:.1f} s = {p.verify_rate:,.0f} tx/s"
        + ("" if p.verify_chain_valid else " INVALID")
        for p in points
    )
    lines.append(f"| verify_chain, whole ledger | {cells} |")
    cells = " | ".join(
        f"{p.checkpoints:,} " + ("(all match)" if not p.checkpoint_problems else "MISMATCH")
        for p in points
    )
    lines.append(f"| signed checkpoints, checked against the chain | {cells} |")
    lines.append("| server worker RSS after use, MiB | "
                 + " | ".join(f"{p.rss_mib:.0f}" for p in points) + " |")  # fmt: skip
    lines.append("| bulk growth to this size (COPY), s | "
                 + " | ".join(f"{p.grow_seconds:.1f}" for p in points) + " |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    database.start()
    print(markdown(run()))
