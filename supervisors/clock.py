"""A clock tests can move by hand, so restart-intensity windows need no sleeping."""

from __future__ import annotations

import threading


class VirtualClock:
    """Callable like ``time.monotonic``; time moves only when ``advance`` is called."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
