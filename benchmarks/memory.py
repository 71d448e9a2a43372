"""Memory: what a queued message costs, measured while the ledger is held mid-block.

The ledger is made to wait on the chain head (locked from another connection), so every
Record sent meanwhile stays in its inbox, each with its reply slot, entry and postings, as
under a burst the database cannot absorb. Python's allocations are counted with
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
from bitnexus.ledger_schema import ledger_head
from supervisors import cast, whereis

QUEUED = 10_000
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


def _burst(engine: sa.Engine, entries: list, traced: bool) -> tuple[float, float]:
    """Queue ``entries`` behind a held head; (bytes added, seconds to drain once freed)."""
    ref = whereis("ledger")
    assert ref is not None
    with engine.connect() as blocker, blocker.begin():
        blocker.execute(sa.select(ledger_head.c.block_index).with_for_update()).all()
        cast("ledger", Record(entries[0]))  # taken at once; it waits on the head
        gc.collect()
        if traced:
            tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0] if traced else _rss_kib() * 1024
        for entry in entries[1:]:
            cast("ledger", Record(entry))
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
        entries = [_transfer_entry(ids[i % 100], ids[(i + 1) % 100]) for i in range(QUEUED)]
        with _tree(cfg, engine):
            rss, drained = _burst(engine, entries, traced=False)  # tracemalloc would add its own
            traced, _ = _burst(engine, entries, traced=True)
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
