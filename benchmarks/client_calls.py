"""What a client function adds to the call it wraps: ``accounts.get_user(id)`` against
``supervisors.call(accounts.NAME, GetUser(id))`` on the application's tree, in one process.

The two alternate call by call (which goes first alternates too), so drift on a busy
machine and the database's caching reach both alike; each round's medians are reported
with the median of the per-pair differences, which the shared database read cancels out of.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from actors import accounts
from benchmarks import database
from bitnexus.tree import application_spec
from supervisors import call, start_tree

PAIRS = 10_000  # per round
ROUNDS = 3
CLIENT = "accounts.get_user(id)"
RAW = "supervisors.call(accounts.NAME, GetUser(id))"


def _round(contenders: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median µs of each contender, and of the client's time minus the raw call's."""
    clock = time.perf_counter
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders.items())
    for i in range(PAIRS):
        for name, fn in order if i % 2 else reversed(order):
            start = clock()
            fn()
            samples[name].append(clock() - start)
    differences = [c - r for c, r in zip(samples[CLIENT], samples[RAW], strict=True)]
    medians = {name: statistics.median(s) * 1e6 for name, s in samples.items()}
    return medians | {"difference": statistics.median(differences) * 1e6}


def run() -> list[dict[str, float]]:
    """One row per round: the two medians and the median paired difference (µs)."""
    with database.fresh() as (cfg, engine):
        [user_id] = database.create_users(engine, 1)
        tree = start_tree(application_spec(cfg, engine))
        try:
            contenders: dict[str, Callable[[], object]] = {
                CLIENT: lambda: accounts.get_user(user_id),
                RAW: lambda: call(accounts.NAME, accounts.GetUser(user_id)),
            }
            return [_round(contenders) for _ in range(ROUNDS)]
        finally:
            tree.stop()


def markdown(rows: list[dict[str, float]]) -> str:
    lines = [
        f"| round | {CLIENT} median µs | {RAW} median µs | median of paired differences µs |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for n, r in enumerate(rows, 1):
        lines.append(f"| {n} | {r[CLIENT]:.1f} | {r[RAW]:.1f} | {r['difference']:+.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    database.start()
    with database.no_outage():
        print(markdown(run()))
