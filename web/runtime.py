"""What the HTTP layer is handed by its host process: the live tree and health probes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from supervisors import Tree
from web import runtime_metrics
from web.metrics import TreeSampler
from web.probe import SharedProbe


def _no_database_check() -> None:
    """Default probe: nothing to check (a host that has a database injects its own)."""


def _no_migrations_pending() -> list[str]:
    return []


@dataclass
class Runtime:
    """Injected into `create_app`; web never builds a tree or opens a database itself.

    `database_ping` raises when the database cannot be reached. `metrics_dir` is
    prometheus_client's multiprocess directory when several workers share /metrics.
    `migrations_pending` lists the migrations the database lacks (empty: up to date).
    `pool_stats` reports the database pool for the metrics.
    """

    tree: Tree | None = None
    database_ping: Callable[[], None] = _no_database_check
    metrics_dir: str | None = None
    migrations_pending: Callable[[], list[str]] = _no_migrations_pending
    pool_stats: runtime_metrics.PoolStats | None = None
    sampler: TreeSampler | None = field(init=False, default=None)
    migrations_up_to_date: bool = field(init=False, default=False)  # seen so by /health
    database_probe: SharedProbe = field(init=False)

    def __post_init__(self) -> None:
        self.database_probe = SharedProbe(self.database_ping)
        # One sampler per tree: it counts each supervisor event exactly once.
        self.sampler = TreeSampler(self.tree) if self.tree is not None else None

    def sample(self, view: Mapping[str, Any] | None = None) -> None:
        """Refresh this process's gauges: the tree (from ``view``, see `TreeSampler`), the
        process, the database pool."""
        if self.sampler is not None:
            self.sampler.sample(view)
        runtime_metrics.sample(self.pool_stats)


def runtime() -> Runtime:
    """The current app's runtime."""
    return current_app.extensions["bitnexus.runtime"]
