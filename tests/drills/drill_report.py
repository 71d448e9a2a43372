"""The long forms' figures, written into RELIABILITY.md between two markers.

One row per drill, replaced by each run of that drill, so a rerun of some drills (after
an interrupted `make chaos`) updates their rows and keeps the others, each with its date.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from drill_check import Summary

RELIABILITY = Path(__file__).resolve().parents[2] / "RELIABILITY.md"
BEGIN = "<!-- figures:begin (written by `make chaos`) -->"
END = "<!-- figures:end -->"
HEADER = [
    "| drill | run (UTC) | requests | acknowledged | retried | failed by status | lost |"
    " other figures | violations |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
]
COLUMNS = ("requests", "acknowledged", "retried", "failed_by_status", "lost")

summaries: list[Summary] = []


def record(summary: Summary) -> None:
    summary.print()
    summaries.append(summary)


def row(summary: Summary, when: str) -> str:
    figures = dict(summary.figures)
    cells = [_cell(figures.pop(name, "")) for name in COLUMNS]
    others = ", ".join(f"{k}={_cell(v)}" for k, v in sorted(figures.items()))
    violations = "; ".join(summary.violations) or "none"
    return "| " + " | ".join([summary.drill, when, *cells, others, violations]) + " |"


def write() -> None:
    """Replace this run's drills' rows in the figures section; keep the others."""
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    text = RELIABILITY.read_text() if RELIABILITY.exists() else f"{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    old, _, tail = rest.partition(END)
    rows = {line.split(" | ")[0][2:]: line for line in old.splitlines() if line.startswith("| ")}
    rows.pop("drill", None)
    rows = {k: v for k, v in rows.items() if not k.startswith("---")}
    for summary in summaries:
        rows[summary.drill] = row(summary, when)
    lines = ["", "Command: `make chaos` (`BITNEXUS_CHAOS=long pytest tests/drills -s`).", ""]
    lines += [*HEADER, *(rows[k] for k in sorted(rows)), ""]
    RELIABILITY.write_text(head + BEGIN + "\n".join(lines) + "\n" + END + tail)


def _cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "/").replace("\n", " ")
