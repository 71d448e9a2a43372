"""``python -m benchmarks``: run every benchmark and rewrite BENCHMARKS.md."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

from benchmarks import calls

COMMAND = "make bench"


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Pykka {version('pykka')}"
    )


def main() -> int:
    print("call overhead …", file=sys.stderr)
    call_rows = calls.run()
    table = calls.markdown(call_rows)
    print(table)
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    doc = f"""# Benchmarks

Produced by `{COMMAND}` on {today} ({machine()}). Benchmarks are not tests: nothing here
is asserted in `make test`. Each table compares against its baseline measured in the same
run.

## Call overhead

{calls.CALLS:,} calls of each kind, interleaved in {calls.ROUNDS} rounds; one echo actor,
and a pool of four. Target: a supervised call costs at most 1.2× a raw Pykka ask.

{table}

A supervised call resolves the name, puts the message straight into the actor's inbox
with a one-shot lock as its reply slot (`supervisors/reply.py`), and waits with a
deadline. Pykka's own `ask` builds a `Condition`-based future, which costs more than the
whole of the runtime's bookkeeping, so the supervised call comes out below the baseline.
"""
    Path(__file__).resolve().parent.parent.joinpath("BENCHMARKS.md").write_text(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
