"""Memory: what a queued message costs, measured while the ledger is held mid-block.

The ledger is made to wait on the chain head (locked from another connection), so every
Record sent meanwhile stays in its inbox, each with its reply slot, entry and postings, as
under a burst the database cannot absorb. RSS is the coarser figure: the allocator reuses
memory freed earlier, so it can show less than the heap grew. Python's allocations are counted with
tracemalloc (exact); the process RSS is read too (what the operating system sees).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from actors.ledger import Record
from benchmarks import database
from benchmarks.ledger import _transfer_entry, _tree
from bitnexus.ledger.schema import ledger_head
from supervisors import cast, whereis

QUEUED = 20_000
DRAIN_DEADLINE = 120.0


@dataclass(frozen=True)
class Queued:
    messages: int
    traced_kib_per_1000: float
    rss_kib_per_1000: float
    drained_seconds: float


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _burst(engine: sa.Engine, ids: list[int], traced: bool) -> tuple[float, float]:
    """Queue QUEUED transfers behind a held head; (bytes added, seconds to drain once freed).

    Each entry is built inside the measurement: a queued message holds its entry."""
    ref = whereis("ledger")
    assert ref is not None
    with engine.connect() as blocker, blocker.begin():
        blocker.execute(sa.select(ledger_head.c.block_index).with_for_update()).all()
        cast("ledger", Record(_transfer_entry(ids[0], ids[1])))  # taken; waits on the head
        gc.collect()
        if traced:
            tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0] if traced else _rss_kib() * 1024
        for i in range(1, QUEUED):
            cast("ledger", Record(_transfer_entry(ids[i % 100], ids[(i + 1) % 100])))
        after = tracemalloc.get_traced_memory()[0] if traced else _rss_kib() * 1024
        tracemalloc.stop()
    started = time.perf_counter()  # the head is free: the backlog drains in blocks
    deadline = started + DRAIN_DEADLINE
    while ref.actor_inbox.qsize() and time.perf_counter() < deadline:
        time.sleep(0.05)  # polling another thread's progress; bounded by the deadline
    return after - before, time.perf_counter() - started


def run() -> Queued:
    with database.fresh() as (cfg, engine):
        ids = database.wallets(cfg, engine, 100)
        with _tree(cfg, engine):
            rss, drained = _burst(engine, ids, traced=False)  # tracemalloc would add its own
            traced, _ = _burst(engine, ids, traced=True)
    per = 1000 / (QUEUED - 1) / 1024
    return Queued(QUEUED - 1, traced * per, rss * per, drained)


def markdown(queued: Queued, idle_mib: dict[int, float], sized: dict[int, float]) -> str:
    lines = [
        "| measure | value |",
        "| --- | ---: |",
    ]
    for workers, mib in idle_mib.items():
        lines.append(f"| server RSS idle, {workers} worker(s) (all workers), MiB | {mib:.0f} |")
    lines.append(
        f"| per 1,000 queued ledger messages, Python heap (tracemalloc), KiB | "
        f"{queued.traced_kib_per_1000:.0f} |"
    )
    lines.append(f"| per 1,000 queued ledger messages, RSS, KiB | {queued.rss_kib_per_1000:.0f} |")
    lines.append(
        f"| backlog of {queued.messages:,} drained once the head was free, s | "
        f"{queued.drained_seconds:.1f} |"
    )
    for size, mib in sized.items():
        lines.append(
            f"| one worker's RSS after use, ledger of {size:,} transactions, MiB | {mib:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    database.start()
    print(markdown(run(), {}, {}))
