"""What the per-actor call metrics (web/runtime_metrics.py) add to a supervised call.

`python -m benchmarks.call_observer`: an echo call timed without the observer, then with
it registered (as it is in every server process); best of 5 rounds of 20 000 calls.
"""

from __future__ import annotations

import importlib
import time

from supervisors import ChildSpec, SupervisorSpec, Worker, call, start_tree

CALLS = 20_000
ROUNDS = 5


class Echo(Worker):
    def handle(self, message: object) -> object:
        return message


def per_call_us() -> float:
    for _ in range(2_000):  # warm up
        call("echo", 1)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            call("echo", 1)
        best = min(best, (time.perf_counter() - started) / CALLS * 1e6)
    return best


def main() -> None:
    tree = start_tree(SupervisorSpec(children=[ChildSpec(id="echo", start=Echo, name="echo")]))
    try:
        print(f"without the observer: {per_call_us():.1f} us/call")
        importlib.import_module("web.runtime_metrics")  # registers it
        print(f"with the observer:    {per_call_us():.1f} us/call")
    finally:
        tree.stop()


if __name__ == "__main__":
    main()
