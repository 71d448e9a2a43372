"""One prober thread per process for `/health`: concurrent checks share one database ping.

A caller waits for a ping that started after it asked (so every answer is as fresh as the
question), within its own deadline. Probes that arrive while a ping is in flight are all
answered by the next one: under load one round trip serves many requests, and no request
thread starts a thread of its own or holds a pool connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class SharedProbe:
    """Runs ``ping`` (raises when the database does not answer) on demand, in one thread."""

    def __init__(self, ping: Callable[[], None]) -> None:
        self._ping = ping
        self._changed = threading.Condition()
        self._wanted = 0  # the newest ping asked for
        self._started = 0  # the newest ping started
        self._finished = 0  # the newest ping finished, and its verdict
        self._answered = False
        self._thread: threading.Thread | None = None

    def answers(self, timeout: float) -> bool:
        """Whether a ping that started after this call succeeded within ``timeout`` s."""
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="health-ping", daemon=True)
                self._thread.start()
            wanted = self._started + 1
            self._wanted = max(self._wanted, wanted)
            self._changed.notify_all()
            if not self._changed.wait_for(lambda: self._finished >= wanted, timeout):
                return False
            return self._answered

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted > self._started)
                self._started = generation = self._wanted
            try:
                self._ping()
                answered = True
            except Exception:  # the verdict is the answer: the database did not answer
                answered = False
            with self._changed:
                self._finished, self._answered = generation, answered
                self._changed.notify_all()
