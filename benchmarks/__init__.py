"""Benchmarks: run with ``make bench``; they write BENCHMARKS.md, never assert timings."""

import sys
from pathlib import Path

# The benchmarks reuse the tests' helpers, which import one another the way pytest's
# pythonpath (pyproject.toml) lets them: as top-level modules from tests/.
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))
