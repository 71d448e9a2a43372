"""What `/metrics` tells about each running worker: its process (memory, CPU, open files,
threads), its database pool, and the messages its actors are sent (count and latency
per registered name).

Process and pool gauges are sampled by the host (with the tree, every second) and on
each scrape. Under gunicorn the process gauges keep one series per worker (a `pid`
label, dropped when the worker dies) and the pool gauges are summed over workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from supervisors import observe_calls

PoolStats = Callable[[], Mapping[str, int]]

_PROCESS = {  # prometheus_client's process metrics -> per-worker gauges
    "process_resident_memory_bytes": ("resident_memory_bytes", "Resident memory"),
    "process_virtual_memory_bytes": ("virtual_memory_bytes", "Virtual memory"),
    "process_cpu_seconds_total": ("cpu_seconds", "CPU time used, user and system"),
    "process_open_fds": ("open_fds", "Open file descriptors"),
    "process_max_fds": ("max_fds", "File descriptor limit"),
    "process_start_time_seconds": ("start_time_seconds", "Start time (Unix time)"),
}
PROCESS = {
    source: Gauge(f"bitnexus_worker_{name}", f"{doc} of the worker", multiprocess_mode="liveall")
    for source, (name, doc) in _PROCESS.items()
}
THREADS = Gauge("bitnexus_worker_threads", "Threads in the worker", multiprocess_mode="liveall")
POOL = {
    stat: Gauge(f"bitnexus_db_pool_{stat}", doc, multiprocess_mode="livesum")
    for stat, doc in {
        "size": "Connections the pool keeps (per worker, summed)",
        "checked_out": "Connections in use",
        "checked_in": "Idle connections in the pool",
        "overflow": "Connections open beyond the pool size",
        "waiting": "Threads waiting for a connection",
    }.items()
}
MESSAGES = Counter(
    "bitnexus_actor_messages_total",
    "Messages sent to actors by registered name: calls and casts",
    ["name", "kind"],
)
CALL_SECONDS = Histogram(
    "bitnexus_actor_call_seconds",
    "Time from a call to its reply (or failure), by registered name and outcome",
    ["name", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

_process = ProcessCollector(registry=None)
_lock = threading.Lock()


def sample(pool_stats: PoolStats | None) -> None:
    """Copy this process's resources and its pool's state into the gauges."""
    with _lock:
        for family in _process.collect():
            for metric in family.samples:
                if metric.name in PROCESS:
                    PROCESS[metric.name].set(metric.value)
        THREADS.set(threading.active_count())
        if pool_stats is not None:
            for stat, value in pool_stats().items():
                POOL[stat].set(value)


_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}  # labels() once per series


def _observe(name: str, kind: str, outcome: str, seconds: float) -> None:
    key = (name, kind, outcome)
    series = _children.get(key)
    if series is None:
        latency = CALL_SECONDS.labels(name, outcome) if kind == "call" else None
        series = _children.setdefault(key, (MESSAGES.labels(name, kind), latency))
    messages, latency = series
    messages.inc()
    if latency is not None:
        latency.observe(seconds)


observe_calls(_observe)
