"""What the HTTP layer is handed by its host process: the live tree and health probes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from supervisors import Tree
from web.metrics import TreeSampler
from web.probe import SharedProbe


def _no_database_check() -> None:
    """Default probe: nothing to check (a host that has a database injects its own)."""


@dataclass
class Runtime:
    """Injected into `create_app`; web never builds a tree or opens a database itself.

    `database_ping` raises when the database cannot be reached. `metrics_dir` is
    prometheus_client's multiprocess directory when several workers share /metrics.
    """

    tree: Tree | None = None
    database_ping: Callable[[], None] = _no_database_check
    metrics_dir: str | None = None
    sampler: TreeSampler | None = field(init=False, default=None)
    database_probe: SharedProbe = field(init=False)

    def __post_init__(self) -> None:
        self.database_probe = SharedProbe(self.database_ping)
        # One sampler per tree: it counts each supervisor event exactly once.
        self.sampler = TreeSampler(self.tree) if self.tree is not None else None


def runtime() -> Runtime:
    """The current app's runtime."""
    return current_app.extensions["bitnexus.runtime"]
