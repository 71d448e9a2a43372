"""A started supervision tree: its root, its live view, its event log, its exit."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from supervisors.errors import ChildError, StartFailed
from supervisors.events import EventLog
from supervisors.spec import DynamicSupervisorSpec, SupervisorSpec, check_spec
from supervisors.supervisor import Supervisor, supervisor_for
from supervisors.worker import Link, Worker, spawn


class Tree:
    """Handle on a running root supervisor (OTP's application master, in small)."""

    def __init__(self, root: Supervisor, link: Link) -> None:
        self.root = root
        self.ref = root.actor_ref
        self.log = root.log
        self._link = link
        self._started_at = time.time()

    def tree(self, dynamic_limit: int | None = None) -> dict[str, Any]:
        """The whole tree as plain data; cheap, safe while the tree restarts.

        ``dynamic_limit``: show at most that many of a dynamic supervisor's children, and
        their totals (see `Supervisor.describe`).
        """
        root = self.root
        return {
            "id": root.path,
            "path": root.path,
            "name": None,
            "kind": "supervisor",
            "class": type(root).__name__,
            "status": "stopped" if self._link.exited.is_set() else "running",
            "restart": "permanent",
            "last_crash": None,
            "inbox": root.actor_inbox.qsize(),
            "handled": root.actor_inbox.handled,
            "started_at": self._started_at,
            **root.describe(dynamic_limit),
        }

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.log.since(after)]

    def supervisor_at(self, path: str) -> tuple[Supervisor, str]:
        """The supervisor owning the node at ``path`` (e.g. ``root/services/accounts``)
        and that node's child id."""
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != self.root.path:
            raise ChildError("not_found", path)
        supervisor: Worker | None = self.root
        for part in parts[1:-1]:
            if not isinstance(supervisor, Supervisor):
                raise ChildError("not_found", path)
            child = supervisor._find(part)
            supervisor = child.actor if child is not None else None
        if not isinstance(supervisor, Supervisor):
            raise ChildError("not_found", path)
        return supervisor, parts[-1]

    @property
    def running(self) -> bool:
        return not self._link.exited.is_set()

    def wait(self, timeout: float | None = None) -> object:
        """Block until the root exits (it gave up, or was stopped); return its reason."""
        self._link.exited.wait(timeout)
        return self._link.reason

    def stop(self) -> object:
        """Stop every child in reverse start order, then the root; return the exit reason."""
        self._link.stopping = True
        if self.ref.is_alive():
            self.ref.stop(block=False)
        return self.wait()


def walk(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every node of a ``Tree.tree()`` view, parents first."""
    yield node
    for child in node.get("children", ()):
        yield from walk(child)


def start_tree(
    spec: SupervisorSpec | DynamicSupervisorSpec, root_id: str = "root", log: EventLog | None = None
) -> Tree:
    """Start a root supervisor; return once every child is up, or raise ``StartFailed``."""
    check_spec(spec, (SupervisorSpec, DynamicSupervisorSpec), "a SupervisorSpec")
    root = supervisor_for(spec)(spec, root_id, log)
    link = Link(None, root_id)
    try:
        spawn(root, link, None)
    except StartFailed as exc:
        raise (exc.reason if isinstance(exc.reason, StartFailed) else exc) from None
    return Tree(root, link)
