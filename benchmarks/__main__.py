"""``python -m benchmarks`` (``make bench``): run every section and rewrite BENCHMARKS.md.

Each section runs on its own fresh PostgreSQL database, against its baselines in the same
run, while holding the reliability drills' outage lock (so no drill stops PostgreSQL in
the middle of a measurement).
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from benchmarks import calls, database, http, ledger, memory, plots, report, scaling
from bitnexus import devdb

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    with devdb.admin_connection() as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}, Pykka {version('pykka')}, PostgreSQL "
        f"{row[0] if row else '?'} on 127.0.0.1 (default settings, synchronous_commit on)"
    )


def load() -> float:
    return os.getloadavg()[0]


def section(name: str, fn: Callable[[], T], loads: dict[str, tuple[float, float]]) -> T:
    """Run one section under the outage lock; remember the load average around it."""
    print(f"{name} …", file=sys.stderr, flush=True)
    started, before = time.perf_counter(), load()
    with database.no_outage() as held:
        if not held:
            print("  (the drills' outage lock stayed busy: running anyway)", file=sys.stderr)
        result = fn()
    loads[name] = (before, load())
    print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return result


def main() -> int:
    database.start()
    began = time.perf_counter()
    loads: dict[str, tuple[float, float]] = {}
    call_rows = section("call overhead", calls.run, loads)
    ledger_rows = section("ledger throughput", ledger.run, loads)
    http_rows = section("HTTP", http.run, loads)
    points = section("scaling", scaling.run, loads)
    queued = section("memory", memory.run, loads)
    figures = {
        "ledger": plots.ledger_throughput(ledger_rows),
        "http": plots.http_rates(http_rows),
        "scaling": plots.scaling_times(points),
    }
    doc = report.document(
        when=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(),
        minutes=(time.perf_counter() - began) / 60,
        loads=loads,
        call_rows=call_rows,
        ledger_rows=ledger_rows,
        http_rows=http_rows,
        points=points,
        queued=queued,
        figures=figures,
    )
    ROOT.joinpath("BENCHMARKS.md").write_text(doc)
    print(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
