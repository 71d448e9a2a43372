"""Call overhead: what a supervised call costs against a raw Pykka ask, in one run."""

from __future__ import annotations

import time
from collections.abc import Callable

from supervisors import ChildSpec, Pool, SupervisorSpec, Worker, call, start_tree, whereis

CALLS = 20_000
ROUNDS = 3  # interleaved, so drift on a busy machine hits every contender alike


class Echo(Worker):
    def handle(self, message: object) -> object:
        return message


def _plain(message: object) -> object:
    return message


def _timings(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    clock = time.perf_counter
    for i in range(n):
        start = clock()
        fn(i)
        out.append(clock() - start)
    return out


def _summary(samples: list[float]) -> tuple[float, float]:
    samples.sort()
    return samples[len(samples) // 2] * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def run() -> list[dict[str, object]]:
    """Median and p99 (µs) for each kind of call, and its ratio to a raw ask."""
    tree = start_tree(
        SupervisorSpec(
            [
                ChildSpec("echo", Echo, name="bench.echo"),
                ChildSpec("pool", Pool(Echo, 4), name="bench.pool"),
            ]
        )
    )
    try:
        raw = whereis("bench.echo")
        assert raw is not None
        contenders: dict[str, Callable[[int], object]] = {
            "plain function call": _plain,
            "raw Pykka ask (baseline)": lambda i: raw.ask(i),
            "supervisors.call (named worker)": lambda i: call("bench.echo", i),
            "supervisors.call (pool of 4)": lambda i: call("bench.pool", i),
        }
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(ROUNDS):
            for name, fn in contenders.items():
                samples[name] += _timings(fn, CALLS // ROUNDS)
    finally:
        tree.stop()
    results = {name: _summary(s) for name, s in samples.items()}
    base = results["raw Pykka ask (baseline)"][0]
    return [
        {"call": name, "median_us": med, "p99_us": p99, "vs_raw_ask": med / base}
        for name, (med, p99) in results.items()
    ]


def markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| call | median µs | p99 µs | median / raw ask |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['call']} | {r['median_us']:.2f} | {r['p99_us']:.2f} | {r['vs_raw_ask']:.2f}× |"
        )
    return "\n".join(lines)
