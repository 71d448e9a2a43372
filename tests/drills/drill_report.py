"""The long forms' figures, written into RELIABILITY.md between two markers."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from drill_check import Summary

RELIABILITY = Path(__file__).resolve().parents[2] / "RELIABILITY.md"
BEGIN = "<!-- figures:begin (written by `make chaos`) -->"
END = "<!-- figures:end -->"
COMMAND = "make chaos  # BITNEXUS_CHAOS=long .venv/bin/pytest tests/drills -s"

summaries: list[Summary] = []


def record(summary: Summary) -> None:
    summary.print()
    summaries.append(summary)


def write(outcome: str) -> None:
    """Replace the figures section with this run's summaries."""
    lines = [
        BEGIN,
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"(Python {platform.python_version()}), command: `{COMMAND}`; pytest: {outcome}.",
        "",
        "| drill | figures | violations |",
        "| --- | --- | --- |",
    ]
    for s in summaries:
        figures = json.dumps(s.figures, sort_keys=True).replace("|", "/")
        lines.append(f"| {s.drill} | `{figures}` | {len(s.violations) or 'none'} |")
    lines += ["", END]
    text = RELIABILITY.read_text() if RELIABILITY.exists() else f"{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    RELIABILITY.write_text(head + "\n".join(lines) + tail)
