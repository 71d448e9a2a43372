"""Ledger throughput: transfers through the ledger actor against two baselines, one run.

(a) what a plain Flask + SQLAlchemy app would do: one ORM session and database
transaction per transfer, wallet rows locked ``FOR UPDATE`` in id order; (b) ``pgbench``'s
simple-update script, the database's per-commit ceiling. All three run against the same
fresh database, interleaved per client count.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

from actors.ledger import Record
from actors.ledger_readers import NAME as READERS
from actors.ledger_readers import VerifyChain
from benchmarks import database, generate
from benchmarks.load import Result, drive, pair
from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from bitnexus.ledger.postings import transfer
from bitnexus.ledger.schema import ledger_blocks, ledger_head, ledger_transactions
from bitnexus.ledger.store import Entry
from bitnexus.tree import application_spec
from supervisors import call, cast, start_tree

CLIENTS = (1, 8, 32, 128)
HOT_CLIENTS = 32
WALLETS = 1_000
HOT_WALLETS = 10
SECONDS = 4.0
MAX_CONNECTIONS = 64  # of PostgreSQL's 100; the rest stay free for other sessions
CALL_TIMEOUT = 30.0


@dataclass(frozen=True)
class Row:
    case: str  # "uniform" or "hot-spot"
    clients: int
    contender: str
    result: Result
    block_size: float | None = None  # transfers per commit, the ledger only
    connections: int | None = None


# ---------------------------------------------------------------- the ledger actor


def _transfer_entry(sender: int, recipient: int) -> Entry:
    moves = tuple(transfer(sender, recipient, "EUR", 1))
    return Entry("transfer", sender, "EUR", 1, moves, recipient_id=recipient)


def _journal_size(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        blocks = conn.execute(sa.select(sa.func.count()).select_from(ledger_blocks)).scalar_one()
        txs = conn.execute(sa.select(sa.func.count()).select_from(ledger_transactions)).scalar_one()
    return blocks, txs


def run_actor_only(ids: list[int], clients: int) -> Result:
    """Transfers through ``call("ledger", Record(...))`` from ``clients`` threads."""

    def op(rng: random.Random) -> object:
        return call("ledger", Record(_transfer_entry(*pair(rng, ids))), CALL_TIMEOUT)

    return drive(clients, SECONDS, op)


def run_actor(engine: sa.Engine, ids: list[int], clients: int) -> tuple[Result, float]:
    """``run_actor_only``, and the mean block size meanwhile."""
    blocks, txs = _journal_size(engine)
    result = run_actor_only(ids, clients)
    blocks2, txs2 = _journal_size(engine)
    return result, (txs2 - txs) / max(1, blocks2 - blocks)


# ---------------------------------------------------------------- baseline (a): plain ORM


class _Base(orm.DeclarativeBase):
    pass


class Wallet(_Base):
    __tablename__ = "plain_wallets"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    balance: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)


class Transfer(_Base):
    __tablename__ = "plain_transfers"
    id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, primary_key=True)
    sender_id: orm.Mapped[int]
    recipient_id: orm.Mapped[int]
    amount: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)


def plain_setup(engine: sa.Engine, count: int) -> list[int]:
    _Base.metadata.create_all(engine)
    with orm.Session(engine) as session, session.begin():
        session.add_all(Wallet(id=i, balance=database.FUNDS) for i in range(1, count + 1))
    return list(range(1, count + 1))


def plain_transfer(sessions: orm.sessionmaker, sender: int, recipient: int) -> None:
    """One transfer as a typical Flask-SQLAlchemy view would make it."""
    with sessions.begin() as session:
        rows = session.scalars(
            sa.select(Wallet).where(Wallet.id.in_([sender, recipient])).order_by(Wallet.id)
            .with_for_update()
        ).all()  # fmt: skip
        by_id = {w.id: w for w in rows}
        if by_id[sender].balance < 1:
            raise ValueError("insufficient funds")
        by_id[sender].balance -= 1
        by_id[recipient].balance += 1
        session.add(Transfer(sender_id=sender, recipient_id=recipient, amount=1))


def run_plain(url: str, ids: list[int], clients: int) -> tuple[Result, int]:
    connections = min(clients, MAX_CONNECTIONS)
    engine = sa.create_engine(url, pool_size=connections, max_overflow=0, pool_timeout=60)
    sessions = orm.sessionmaker(engine, expire_on_commit=False)
    try:
        result = drive(clients, SECONDS, lambda rng: plain_transfer(sessions, *pair(rng, ids)))
    finally:
        engine.dispose()
    return result, connections


# ---------------------------------------------------------------- baseline (b): pgbench

# pgbench's built-in simple-update (-N), optionally on the first ``:naccounts`` rows only.
SIMPLE_UPDATE = """\\set aid random(1, {accounts})
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)
  VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);
END;
"""


def _pg_args(url: str) -> list[str]:
    parsed = sa.make_url(url)
    return ["-h", str(parsed.host), "-p", str(parsed.port), "-U", str(parsed.username)]


def pgbench_setup(url: str) -> None:
    dbname = str(sa.make_url(url).database)
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", *_pg_args(url), dbname],
                   check=True, capture_output=True)  # fmt: skip


def run_pgbench(url: str, clients: int, accounts: int = 100_000) -> tuple[Result, int]:
    """pgbench with the same client count (capped); latencies from its per-transaction log."""
    connections = min(clients, MAX_CONNECTIONS)
    dbname = str(sa.make_url(url).database)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "simple-update.sql"
        script.write_text(SIMPLE_UPDATE.format(accounts=accounts))
        proc = subprocess.run(
            ["pgbench", "-n", "-f", str(script), "-c", str(connections), "-j", "2",
             "-T", str(int(SECONDS)), "-l", "--log-prefix", f"{tmp}/log", *_pg_args(url), dbname],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        latencies = sorted(
            int(line.split()[2]) / 1e6
            for log in Path(tmp).glob("log*")
            for line in log.read_text().splitlines()
        )
    failed = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    return Result(
        len(latencies), int(failed.group(1)) if failed else 0, SECONDS, latencies
    ), connections


# ---------------------------------------------------------------- BITNEXUS_LEDGER_BATCH_MAX

BATCH_MAXES = (16, 64, 256, 1024)
BACKLOG = 8_000
DRAIN_DEADLINE = 120.0


@dataclass(frozen=True)
class Drain:
    batch_max: int
    seconds: float
    blocks: int

    @property
    def rate(self) -> float:
        return BACKLOG / self.seconds

    @property
    def block_ms(self) -> float:
        return self.seconds / self.blocks * 1e3


def _drain(cfg: Config, engine: sa.Engine, ids: list[int], batch_max: int) -> Drain:
    """A backlog of BACKLOG transfers queued behind a held head, then timed as it drains:
    the ledger's rate and commit time when every block can be full."""
    rng = random.Random(batch_max)
    entries = [_transfer_entry(*pair(rng, ids)) for _ in range(BACKLOG)]
    blocks, txs = _journal_size(engine)
    with _tree(dataclasses.replace(cfg, ledger_batch_max=batch_max), engine):
        with engine.connect() as blocker, blocker.begin():
            blocker.execute(sa.select(ledger_head.c.block_index).with_for_update()).all()
            for entry in entries:
                cast("ledger", Record(entry))
            started = time.perf_counter()
        deadline = started + DRAIN_DEADLINE
        while _journal_size(engine)[1] < txs + BACKLOG and time.perf_counter() < deadline:
            time.sleep(0.01)  # polling the database for another thread's commits
        seconds = time.perf_counter() - started
    blocks2, _ = _journal_size(engine)
    return Drain(batch_max, seconds, blocks2 - blocks)


def run_batch_max() -> list[Drain]:
    with database.fresh() as (cfg, engine):
        ids = database.wallets(cfg, engine, WALLETS)
        return [_drain(cfg, engine, ids, n) for n in BATCH_MAXES]


def markdown_batch_max(drains: list[Drain]) -> str:
    lines = [
        "| BITNEXUS_LEDGER_BATCH_MAX | transfers/s draining | blocks | ms per block |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for d in drains:
        lines.append(f"| {d.batch_max} | {d.rate:,.0f} | {d.blocks} | {d.block_ms:.1f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- writes during verify_chain

VERIFY_LEDGER = 100_000  # transactions: a full walk outlasts a measuring window
VERIFY_ROUNDS = 2
VERIFY_CLIENTS = 32


@dataclass(frozen=True)
class DuringVerify:
    alone: list[Result]
    during: list[Result]
    walks: list[float]  # seconds each overlapping verify_chain took

    @property
    def share(self) -> float:
        return sum(r.operations for r in self.during) / sum(r.operations for r in self.alone)


def _during_walk(ids: list[int]) -> tuple[Result, float]:
    """Transfers from VERIFY_CLIENTS threads while a full verify_chain runs in a reader."""
    walked: list[float] = []

    def walk() -> None:
        started = time.perf_counter()
        report = call(READERS, VerifyChain(), 600.0)
        assert report.valid, report
        walked.append(time.perf_counter() - started)

    walker = threading.Thread(target=walk)
    walker.start()
    result = run_actor_only(ids, VERIFY_CLIENTS)
    still_walking = walker.is_alive()  # the window must lie inside the walk
    walker.join()
    if not still_walking:
        raise RuntimeError(f"verify_chain ({walked[0]:.1f} s) ended before the window did")
    return result, walked[0]


def run_verify_during_writes() -> DuringVerify:
    """Transfers/s at 32 threads alone and while a full verify_chain runs, interleaved."""
    with database.fresh() as (cfg, engine):
        ids = database.wallets(cfg, engine, WALLETS)
        generate.grow(engine, cfg, VERIFY_LEDGER)
        alone, during, walks = [], [], []
        with _tree(cfg, engine):
            for _ in range(VERIFY_ROUNDS):
                print("  ledger during verify_chain …", flush=True)
                alone.append(run_actor_only(ids, VERIFY_CLIENTS))
                result, seconds = _during_walk(ids)
                during.append(result)
                walks.append(seconds)
        return DuringVerify(alone, during, walks)


def markdown_during_verify(d: DuringVerify) -> str:
    lines = [
        "| round | transfers/s alone | p99 ms | transfers/s during verify_chain | p99 ms "
        "| verify_chain s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, (a, b, w) in enumerate(zip(d.alone, d.during, d.walks, strict=True), 1):
        lines.append(
            f"| {n} | {a.rate:,.0f} | {a.percentile(99):.1f} | {b.rate:,.0f} | "
            f"{b.percentile(99):.1f} | {w:.1f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- several writer processes

WRITER_PROCESSES = (1, 2, 4)
WRITERS_CLIENTS = 32  # in all, split evenly over the processes
WRITERS_ROUNDS = 2


@dataclass(frozen=True)
class Writers:
    processes: int
    results: list[Result]  # one per process and round
    cpu: float  # seconds of the processes' CPU (clients, trees, writers) in all rounds
    blocks: int  # committed meanwhile, warm-ups included
    transactions: int

    @property
    def rate(self) -> float:
        return sum(r.operations for r in self.results) / (SECONDS * self._rounds)

    @property
    def _rounds(self) -> int:
        return len(self.results) // self.processes

    def percentile(self, p: float) -> float:
        merged = Result(0, 0, SECONDS, sorted(x for r in self.results for x in r.latencies))
        return merged.percentile(p)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)

    @property
    def block_size(self) -> float:
        return self.transactions / max(1, self.blocks)

    @property
    def cpu_per_transfer_us(self) -> float:
        return self.cpu / max(1, self.transactions) * 1e6

    @property
    def cores(self) -> float:
        return self.cpu / (SECONDS * self._rounds)


def _writer_process(
    url: str, ids: list[int], clients: int, start_at: float
) -> tuple[Result, float]:
    """One process with its own tree (so its own ledger writer) driving ``clients``; its
    result and the CPU seconds it spent meanwhile."""
    cfg = database.config(url)
    engine = make_engine(cfg)
    try:
        with _tree(cfg, engine):
            time.sleep(max(0.0, start_at - time.time()))  # all processes start together
            cpu = time.process_time()
            result = run_actor_only(ids, clients)
            return result, time.process_time() - cpu
    finally:
        engine.dispose()


def run_writers() -> list[Writers]:
    """Total transfers/s with 1, 2 and 4 writer processes on one database, interleaved."""
    context = multiprocessing.get_context("spawn")
    with database.fresh() as (cfg, engine):
        url = engine.url.render_as_string(hide_password=False)
        ids = database.wallets(cfg, engine, WALLETS)
        found: dict[int, list[tuple[Result, float]]] = {n: [] for n in WRITER_PROCESSES}
        journal = {n: [0, 0] for n in WRITER_PROCESSES}  # blocks, transactions
        for _ in range(WRITERS_ROUNDS):
            for n in WRITER_PROCESSES:
                print(f"  ledger writers={n} …", flush=True)
                before = _journal_size(engine)
                with ProcessPoolExecutor(n, mp_context=context) as pool:
                    start_at = time.time() + 3.0 + n  # the trees start meanwhile
                    futures = [
                        pool.submit(_writer_process, url, ids, WRITERS_CLIENTS // n, start_at)
                        for _ in range(n)
                    ]
                    found[n] += [f.result() for f in futures]
                after = _journal_size(engine)
                journal[n] = [
                    total + a - b for total, a, b in zip(journal[n], after, before, strict=True)
                ]
        return [
            Writers(n, [r for r, _ in runs], sum(c for _, c in runs), *journal[n])
            for n, runs in found.items()
        ]


def markdown_writers(rows: list[Writers]) -> str:
    lines = [
        "| writer processes | client threads each | transfers/s in all | vs 1 process "
        "| p50 ms | p99 ms | block size | CPU µs per transfer | cores busy | errors |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    one = rows[0].rate
    for w in rows:
        lines.append(
            f"| {w.processes} | {WRITERS_CLIENTS // w.processes} | {w.rate:,.0f} | "
            f"{w.rate / one:.2f} | {w.percentile(50):.1f} | {w.percentile(99):.1f} | "
            f"{w.block_size:.1f} | {w.cpu_per_transfer_us:,.0f} | {w.cores:.2f} | {w.errors} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the run


@contextmanager
def _tree(cfg: Config, engine: sa.Engine) -> Iterator[None]:
    tree = start_tree(application_spec(cfg, engine))
    try:
        yield
    finally:
        tree.stop()


def run(clients: tuple[int, ...] = CLIENTS) -> list[Row]:
    rows: list[Row] = []
    with database.fresh() as (cfg, engine):
        url = engine.url.render_as_string(hide_password=False)
        ids = database.wallets(cfg, engine, WALLETS)
        plain_ids = plain_setup(engine, WALLETS)
        pgbench_setup(url)
        with _tree(cfg, engine):
            cases = [("uniform", c, WALLETS) for c in clients]
            cases.append(("hot-spot", HOT_CLIENTS, HOT_WALLETS))
            for case, c, n in cases:
                print(f"  ledger {case} C={c} …", flush=True)
                result, block = run_actor(engine, ids[:n], c)
                rows.append(Row(case, c, "ledger actor", result, block_size=block))
                result, conns = run_plain(url, plain_ids[:n], c)
                rows.append(Row(case, c, "plain SQLAlchemy (a)", result, connections=conns))
                engine.dispose()  # the tree's idle pooled connections count against the limit
                result, conns = run_pgbench(url, c, n if case == "hot-spot" else 100_000)
                rows.append(Row(case, c, "pgbench simple-update (b)", result, connections=conns))
    return rows


def markdown(rows: list[Row]) -> str:
    lines = [
        "| case | clients | contender | transfers/s | p50 ms | p99 ms | block size | errors |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        conns = f" ({r.connections} conns)" if r.connections and r.connections < r.clients else ""
        block = f"{r.block_size:.1f}" if r.block_size is not None else "—"
        lines.append(
            f"| {r.case} | {r.clients} | {r.contender}{conns} | {r.result.rate:,.0f} | "
            f"{r.result.percentile(50):.1f} | {r.result.percentile(99):.1f} | {block} | "
            f"{r.result.errors} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    database.start()
    print(markdown_writers(run_writers()))
    print(markdown_during_verify(run_verify_during_writes()))
    print(markdown_batch_max(run_batch_max()))
    print(markdown(run()))
