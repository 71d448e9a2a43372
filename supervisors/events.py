"""The supervisors' decision log: bounded, sequenced, readable while the tree runs."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    seq: int
    at: float  # wall-clock seconds since the epoch
    supervisor: str  # the deciding supervisor's path, e.g. "root/services"
    child: str | None
    kind: str  # child_started, child_crashed, child_restarted, child_terminated,
    # child_stuck, shutdown, escalated, gave_up
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class EventLog:
    """Keeps the last ``size`` events; ``since(seq)`` reads those after ``seq``."""

    def __init__(self, size: int = 1000) -> None:
        self._events: deque[Event] = deque(maxlen=size)
        self._seq = itertools.count(1)
        self._changed = threading.Condition()

    def append(self, supervisor: str, kind: str, child: str | None, reason: object) -> Event:
        text = None if reason is None else (reason if isinstance(reason, str) else repr(reason))
        with self._changed:
            event = Event(next(self._seq), time.time(), supervisor, child, kind, text)
            self._events.append(event)
            self._changed.notify_all()
        return event

    @property
    def last_seq(self) -> int:
        with self._changed:
            return self._events[-1].seq if self._events else 0

    def since(self, seq: int = 0) -> list[Event]:
        with self._changed:
            return [e for e in self._events if e.seq > seq]

    def wait_for(self, predicate: Any, after: int = 0, timeout: float = 5.0) -> Event:
        """Block until an event after ``after`` matches ``predicate``; return it.

        For tests and operators' tools: an event, not a sleep, as synchronisation.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self._events:
                    if event.seq > after and predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no matching supervisor event")
                self._changed.wait(remaining)
