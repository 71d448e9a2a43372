"""An actor inbox that can be closed, so that no message is ever left unanswered."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable
from typing import Any

from pykka._envelope import Envelope
from pykka.messages import _ActorStop

# Both are Pykka 4 internals: the envelope carries the caller's future, and a stop
# message wakes a thread blocked on an empty inbox. pyproject pins pykka < 5.


class Inbox(queue.Queue):
    """A FIFO inbox whose ``close`` fails every queued call and every later one.

    Pykka's own teardown leaves a race: a message put after the final drain is never
    answered. Here closing and putting take the same lock, so a call is either queued
    before the close (and failed by it) or refused after it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.closed_with: Callable[[], BaseException] | None = None
        self.received = 0  # written under the queue's lock only
        self.handled = 0  # written by the actor's own thread only
        self.current: Envelope[Any] | None = None  # the one the actor's loop took last

    @property
    def load(self) -> int:
        """Messages queued plus the one being handled."""
        return self.received - self.handled

    def _put(self, envelope: Envelope[Any]) -> None:
        if self.closed_with is not None:
            _fail(envelope, self.closed_with)
            return
        self.received += 1
        self.queue.append(envelope)

    def _get(self) -> Envelope[Any]:
        self.current = self.queue.popleft()
        return self.current

    def put_first(self, envelope: Envelope[Any]) -> None:
        """Queue ``envelope`` ahead of every waiting message (an exit signal)."""
        with self.mutex:
            if self.closed_with is not None:
                _fail(envelope, self.closed_with)
                return
            self.received += 1
            self.queue.appendleft(envelope)
            self.not_empty.notify()

    def close(self, error: Callable[[], BaseException]) -> None:
        """Refuse new messages and fail queued calls with a fresh ``error()`` each."""
        with self.mutex:
            if self.closed_with is not None:
                return
            self.closed_with = error
            pending = list(self.queue)
            self.queue.clear()
            self.queue.append(Envelope(_ActorStop()))  # wakes a thread blocked in get()
            self.not_empty.notify()
        for envelope in pending:
            _fail(envelope, error)

    def take(self, limit: int, accept: Callable[[object], bool]) -> list[Envelope[Any]]:
        """Remove up to ``limit`` queued envelopes from the head while ``accept`` holds."""
        taken: list[Envelope[Any]] = []
        with self.mutex:
            while self.queue and len(taken) < limit:
                head = self.queue[0]
                if isinstance(head.message, _ActorStop) or not accept(head.message):
                    break
                taken.append(self.queue.popleft())
        self.handled += len(taken)
        return taken


def _fail(envelope: Envelope[Any], error: Callable[[], BaseException]) -> None:
    if envelope.reply_to is None:
        return
    fail_future(envelope.reply_to, error())


def fail_future(future: Any, exc: BaseException) -> None:
    """Set ``exc`` on a Pykka future unless it was answered already."""
    with contextlib.suppress(queue.Full):  # already answered
        future.set_exception((type(exc), exc, exc.__traceback__))
