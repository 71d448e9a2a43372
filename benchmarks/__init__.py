"""Benchmarks: run with ``make bench``; they write BENCHMARKS.md, never assert timings."""
