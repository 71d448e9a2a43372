"""A closed-loop load driver: C threads each repeat one operation until a deadline."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Operation = Callable[[random.Random], object]


@dataclass(frozen=True)
class Result:
    operations: int
    errors: int
    seconds: float
    latencies: list[float]  # seconds, sorted

    @property
    def rate(self) -> float:
        return self.operations / self.seconds

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile latency in milliseconds (0 when nothing ran)."""
        if not self.latencies:
            return 0.0
        return (
            self.latencies[min(len(self.latencies) - 1, int(len(self.latencies) * p / 100))] * 1e3
        )


def drive(threads: int, seconds: float, operation: Operation, warmup: float = 0.5) -> Result:
    """Run ``operation`` from ``threads`` threads; only calls started after the warm-up count."""
    start = time.perf_counter() + warmup
    deadline = start + seconds
    per_thread: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads

    def loop(n: int) -> None:
        rng = random.Random(n)
        clock = time.perf_counter
        mine = per_thread[n]
        while True:
            began = clock()
            if began >= deadline:
                return
            try:
                operation(rng)
            except Exception:
                errors[n] += 1  # counted, reported, and must stay zero
                continue
            ended = clock()
            if began >= start and ended <= deadline:  # whole calls inside the window only
                mine.append(ended - began)

    workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    latencies = sorted(x for mine in per_thread for x in mine)
    return Result(len(latencies), sum(errors), seconds, latencies)


def pair(rng: random.Random, ids: list[int]) -> tuple[int, int]:
    """Two distinct wallets chosen uniformly."""
    a, b = rng.sample(ids, 2)
    return a, b
