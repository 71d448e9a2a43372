"""Crash injection through the operator endpoints of a live server."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

from drill_http import send
from drill_server import OPERATOR

from supervisors import walk


def crashable(tree: dict[str, Any]) -> list[str]:
    """Every worker actor: the ledger and the pools' members (not supervisors)."""
    return [n["path"] for n in walk(tree) if n["kind"] == "worker"]


def supervision(base: str) -> dict[str, Any] | None:
    answer = send(base, "GET", "/admin/supervision", headers=OPERATOR)
    return answer.body["data"] if answer.status == 200 else None


def not_running(tree: dict[str, Any]) -> list[str]:
    return [f"{n['path']}={n['status']}" for n in walk(tree) if n["status"] != "running"]


class Chaos:
    """Crash random actors of whichever worker answers, `rate` times a second."""

    def __init__(self, base: str, rate: float, seed: int = 7, only: str | None = None) -> None:
        self.base, self.pause, self.only = base, 1.0 / rate, only
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.workers: set[int] = set()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> int:
        self.stop.set()
        self._thread.join(30)
        return sum(self.injected.values())

    def _run(self) -> None:
        while not self.stop.wait(self.pause):  # the injection rate: pacing
            tree = supervision(self.base)
            if tree is None:
                continue
            paths = [self.only] if self.only else crashable(tree)
            if not paths:
                continue  # this worker's services are restarting: nothing to crash yet
            path = self.rng.choice(paths)
            answer = send(self.base, "POST", f"/admin/supervision/{path}/crash", headers=OPERATOR)
            if answer.status == 202:
                self.injected[path.rsplit("/", 1)[-1]] += 1
                self.workers.add(answer.body["data"]["pid"])
