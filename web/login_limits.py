"""Login rate limits: failed logins counted per account and per client address.

Sliding windows kept in this process's memory. Under gunicorn each worker counts its
own, so with N workers an attacker gets at most N times the limits before every worker
answers 429 (documented in README); the bound still turns a brute-force attack from
millions of guesses an hour into a handful. Memory is bounded: the least recently
failed keys are forgotten first once `max_keys` are tracked.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

ACCOUNT_LIMIT = 5  # failed logins per account (email) per window
CLIENT_LIMIT = 20  # failed logins per client address per window
WINDOW_SECONDS = 300.0
MAX_KEYS = 100_000


@dataclass(frozen=True)
class Limits:
    account: int = ACCOUNT_LIMIT
    client: int = CLIENT_LIMIT
    window: float = WINDOW_SECONDS
    max_keys: int = MAX_KEYS


class LoginLimiter:
    """Thread-safe: every request thread of the worker shares one."""

    def __init__(self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, account: str | None, client: str) -> int | None:
        """Whole seconds until a login may be tried again, or None if it may now."""
        now = self.clock()
        waits = []
        with self._lock:
            for key, limit in self._keys(account, client):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.limits.window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, account: str | None, client: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit in self._keys(account, client):
                times = self._failures.setdefault(key, deque(maxlen=limit))
                times.append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self.limits.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, account: str | None) -> None:
        """A right password clears the account's failures (not the client's)."""
        if account:
            with self._lock:
                self._failures.pop(f"account:{account}", None)

    def _keys(self, account: str | None, client: str) -> list[tuple[str, int]]:
        keys = [(f"client:{client}", self.limits.client)]
        if account:
            keys.append((f"account:{account}", self.limits.account))
        return keys

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] > self.limits.window:
            times.popleft()
        return times
