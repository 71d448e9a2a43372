"""``python -m benchmarks`` (``make bench``): run every section and rewrite BENCHMARKS.md;
``python -m benchmarks scaling``: run section 4 alone and rewrite only that section.

Each section runs on its own fresh PostgreSQL database, against its baselines in the same
run, while holding the reliability drills' outage lock (so no drill stops PostgreSQL in
the middle of a measurement).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import psycopg
import sqlalchemy as sa

from benchmarks import calls, channels, database, http, ledger, memory, plots, report, scaling
from tests import devdb

T = TypeVar("T")
ATTEMPTS = 3
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


def section(
    name: str, fn: Callable[[], T], loads: dict[str, tuple[float, float]], lock: bool = True
) -> T:
    """Run one section under the outage lock (unless it takes it itself, in steps);
    remember the load average around it."""
    print(f"{name} …", file=sys.stderr, flush=True)
    started, before = time.perf_counter(), load()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with database.no_outage() if lock else contextlib.nullcontext(True) as held:
                if not held:
                    print(
                        "  (the drills' outage lock stayed busy: running anyway)", file=sys.stderr
                    )
                result = fn()
            break
        except (sa.exc.OperationalError, psycopg.OperationalError) as exc:
            # Another session stopped or restarted PostgreSQL: the section's database is
            # gone with its connections; once the server is back, run the section afresh.
            print(f"  {name}: PostgreSQL went away ({exc.__class__.__name__})", file=sys.stderr)
            if attempt == ATTEMPTS or not database.wait_for_postgres():
                raise
            print(f"  {name}: again (attempt {attempt + 1})", file=sys.stderr, flush=True)
    loads[name] = (before, load())
    print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return result


def _in_fresh_process(fn: Callable[[], T]) -> Callable[[], T]:
    """``fn`` run in a new interpreter: RSS deltas in this long-lived one are hidden by the
    memory earlier sections freed, which the allocator hands out again."""

    def run() -> T:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            return pool.submit(fn).result()

    return run


def main() -> int:
    database.start()
    began, host = time.perf_counter(), machine()  # now: PostgreSQL may be down at the end
    loads: dict[str, tuple[float, float]] = {}
    call_rows = section("call overhead", calls.run, loads)
    ledger_rows = section("ledger throughput", ledger.run, loads)
    drains = section("ledger batch size", ledger.run_batch_max, loads)
    during = section("ledger during verify_chain", ledger.run_verify_during_writes, loads)
    writers = section("ledger writers", ledger.run_writers, loads)
    http_rows = section("HTTP", http.run, loads)
    points = section("scaling", scaling.run, loads, lock=False)
    queued = section("memory", _in_fresh_process(memory.run), loads)
    realtime = section("channels", channels.run, loads)
    figures = {
        "ledger": plots.ledger_throughput(ledger_rows),
        "during": plots.during_verify(during),
        "writers": plots.writers(writers),
        "http": plots.http_rates(http_rows),
        "scaling": plots.scaling_times(points),
    }
    doc = report.document(
        when=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=host,
        minutes=(time.perf_counter() - began) / 60,
        loads=loads,
        call_rows=call_rows,
        ledger_rows=ledger_rows,
        drains=drains,
        writers=writers,
        during=during,
        http_rows=http_rows,
        points=points,
        queued=queued,
        channels_md=channels.markdown(*realtime),
        figures=figures,
    )
    ROOT.joinpath("BENCHMARKS.md").write_text(doc)
    print(doc)
    return 0


def scaling_only() -> int:
    """Section 4 alone (`BENCH_SCALE_MAX` bounds its sizes), stamped with its command, date
    and load; the rest of BENCHMARKS.md stays as its own run left it."""
    database.start()
    loads: dict[str, tuple[float, float]] = {}
    points = section("scaling", scaling.run, loads, lock=False)
    print(scaling.markdown(points), flush=True)
    limit = os.environ.get("BENCH_SCALE_MAX")
    command = "python -m benchmarks scaling"
    command = command if limit is None else f"BENCH_SCALE_MAX={limit} {command}"
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    before, after = loads["scaling"]
    text = report.scaling_section(points, plots.scaling_times(points), command)
    text += (
        f"\n\nThis section alone: `{command}` on {when}, load average {before:.2f} before, "
        f"{after:.2f} after (2 cores shared with other sessions)."
    )
    path = ROOT.joinpath("BENCHMARKS.md")
    path.write_text(report.replace_section(path.read_text(), text))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(scaling_only() if sys.argv[1:] == ["scaling"] else main())
