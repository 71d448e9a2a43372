"""One prober thread per process for `/health`: concurrent checks share one database ping.

A caller waits for a ping that started after it asked (so every answer is as fresh as the
question), within its own deadline. Probes that arrive while a ping is in flight are all
answered by the next one: under load one round trip serves many requests, and no request
thread starts a thread of its own or holds a pool connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class _Ping:
    """One ping's verdict, and the callers waiting for it (only those: waking every
    waiting caller at each arrival or verdict was most of /health's CPU under load)."""

    def __init__(self) -> None:
        self.wanted = False
        self.answered = False
        self.done = threading.Event()


class SharedProbe:
    """Runs ``ping`` (raises when the database does not answer) on demand, in one thread."""

    def __init__(self, ping: Callable[[], None]) -> None:
        self._ping = ping
        self._asked = threading.Condition()
        self._next = _Ping()  # the next ping to start: every caller until then waits on it
        self._thread: threading.Thread | None = None

    def answers(self, timeout: float) -> bool:
        """Whether a ping that started after this call succeeded within ``timeout`` s."""
        with self._asked:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="health-ping", daemon=True)
                self._thread.start()
            ping = self._next
            ping.wanted = True
            self._asked.notify()
        return ping.done.wait(timeout) and ping.answered

    def _run(self) -> None:
        while True:
            with self._asked:
                self._asked.wait_for(lambda: self._next.wanted)
                ping, self._next = self._next, _Ping()
            try:
                self._ping()
                ping.answered = True
            except Exception:  # the verdict is the answer: the database did not answer
                ping.answered = False
            ping.done.set()
