"""The `admin:supervision` feed: every worker process publishes its tree once a second and
each supervisor event as it happens; every worker keeps the newest tree of each process
(the `supervision` actor), so a join is answered with the trees of all live workers.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors import pubsub
from supervisors import Tree, Worker, call

NAME = "supervision"
TOPIC = "admin:supervision"
STALE_AFTER = 5.0  # seconds without a snapshot after which a worker counts as gone
SHOWN_CHILDREN = 20  # of a dynamic supervisor's (sockets, channels) children, per snapshot
HOST = socket.gethostname()


@dataclass(frozen=True)
class Workers:
    """Replies the newest tree of every worker heard from in the last STALE_AFTER s."""


class Monitor(Worker):
    """Keeps the newest `tree` snapshot of each worker process."""

    def __init__(self) -> None:
        super().__init__()
        self._trees: dict[str, tuple[float, Mapping[str, Any]]] = {}

    def init(self) -> None:
        pubsub.subscribe(TOPIC, self.actor_ref)

    def terminate(self) -> None:
        pubsub.unsubscribe(TOPIC, self.actor_ref)

    def handle(self, message: object) -> object:
        match message:
            case pubsub.Delivered(event="tree", payload=payload):
                self._trees[f"{payload['host']}:{payload['pid']}"] = (time.monotonic(), payload)
                return None
            case pubsub.Delivered() | pubsub.CatchUp():
                return None
            case Workers():
                now = time.monotonic()
                fresh = {k: v for k, v in self._trees.items() if now - v[0] <= STALE_AFTER}
                self._trees = fresh
                return [payload for _at, payload in sorted(fresh.values(), key=_by_worker)]
        return super().handle(message)


def _by_worker(item: tuple[float, Mapping[str, Any]]) -> tuple[str, int]:
    return item[1]["host"], item[1]["pid"]


def workers(timeout: float) -> list[Mapping[str, Any]]:
    return call(NAME, Workers(), timeout)


class Publisher:
    """Called once a second by the host process (bitnexus/server.py) with its tree."""

    def __init__(self, tree: Tree) -> None:
        self._tree = tree
        self._seq = tree.log.last_seq
        self._handled: dict[str, int] = {}
        self._at = time.monotonic()

    def publish(self, view: Mapping[str, Any] | None = None) -> None:
        """``view``: the tree as `view` takes it this moment (the server's sampling loop
        shares one with the metrics), else a new one."""
        events = self._tree.events(self._seq)
        if events:
            self._seq = events[-1]["seq"]
        now = time.monotonic()
        seconds, self._at = max(now - self._at, 1e-6), now
        handled: dict[str, int] = {}
        snapshot = self._rated(view or self.view(), handled, seconds)
        self._handled = handled
        me = {"pid": os.getpid(), "host": HOST}
        messages = [
            pubsub.Message((TOPIC,), "supervisor_event", {**me, "event": e}) for e in events
        ]
        messages.append(
            pubsub.Message((TOPIC,), "tree", {**me, "at": time.time(), "tree": snapshot})
        )
        pubsub.publish(messages)

    def view(self) -> dict[str, Any]:
        """The tree as a snapshot shows it: a dynamic supervisor's first children only."""
        return self._tree.tree(SHOWN_CHILDREN)

    def _rated(self, node: Mapping[str, Any], handled: dict[str, int], seconds: float) -> dict:
        """The node with its message rate (messages handled per second since last time)."""
        path = node["path"]
        count = node.get("handled", 0)
        handled[path] = count
        rate = max(count - self._handled.get(path, count), 0) / seconds
        out = {**node, "rate": round(rate, 1)}
        if "children" in node:
            out["children"] = [self._rated(c, handled, seconds) for c in node["children"]]
        return out
