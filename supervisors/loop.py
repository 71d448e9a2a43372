"""Actors whose messages run on an asyncio event loop instead of a thread each.

A `LoopWorker` is a `Worker` in every other respect (supervised, linked, monitored, its
inbox counted in the live view), for actors that come by the thousand and mostly idle:
each blocked thread makes every futex wake in the process dearer (the kernel walks its
waiters) and grows the collector's work, so thousands of idle actor threads slow the
whole process down. Here an actor costs an inbox, not a thread.

Its messages are handled on the loop one at a time, in order, as a thread's would be; a
message for which ``blocks`` is true (a database read, a call to another actor) is
handled on the loop's executor instead, and the actor takes no other message until it is
done, so the loop never waits. ``init`` runs in the thread that starts the actor (its
supervisor's), before any message; ``terminate`` where its stop is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sys
import threading
from typing import Any

from pykka._envelope import Envelope

from supervisors import worker
from supervisors.inbox import Inbox
from supervisors.worker import Worker

BATCH = 64  # messages one actor handles per turn of the loop before the others' turn


class LoopInbox(Inbox):
    """An inbox that schedules its actor on the loop when a message arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.wake: Any = None  # set by the actor once it has its loop

    def put(self, item: Envelope[Any], block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self.wake()

    def put_first(self, envelope: Envelope[Any]) -> None:
        super().put_first(envelope)
        self.wake()


class LoopWorker(Worker):
    """Subclass as a `Worker`, passing the loop; override ``blocks`` for blocking work."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._lock = threading.Lock()
        self._armed = True  # a turn is scheduled (none until started)
        self._busy = False  # a blocking handler runs on the executor
        self.actor_inbox.wake = self._wake

    @staticmethod
    def _create_actor_inbox() -> LoopInbox:
        return LoopInbox()

    def blocks(self, message: object) -> bool:
        """Whether handling ``message`` may block (then it runs off the loop)."""
        return False

    # Pykka's hooks.

    def _start_actor_loop(self) -> None:
        previous = worker.current()
        try:
            self._actor_loop_setup()  # on_start: init, here, before any message
        finally:
            worker._local.actor = previous
        with self._lock:
            self._armed = False
        self._wake()  # messages sent meanwhile, or the stop of a failed init

    # Scheduling, from any thread.

    def _wake(self) -> None:
        with self._lock:
            if self._armed:
                return
            self._armed = True
        try:
            if _running_loop() is self._loop:
                self._loop.call_soon(self._turn)
            else:
                self._loop.call_soon_threadsafe(self._turn)
        except RuntimeError:  # the loop is closed: nobody serves this actor any more
            pass

    # The loop's thread.

    def _turn(self) -> None:
        with self._lock:
            self._armed = False
        for _ in range(BATCH):
            if self.actor_stopped.is_set():
                self._actor_loop_teardown()
                return
            if self._busy:
                return  # the blocking handler wakes this actor when it is done
            try:
                envelope = self.actor_inbox.get_nowait()
            except queue.Empty:
                return
            if self.blocks(envelope.message):
                self._busy = True
                self._loop.run_in_executor(None, self._off_loop, envelope)
                return
            self._handle(envelope)
        self._wake()  # more to do: after the other actors' turn

    def _off_loop(self, envelope: Envelope[Any]) -> None:
        try:
            self._handle(envelope)
        finally:
            # Through the loop: what the handler scheduled there (writes) comes first.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._resume)

    def _resume(self) -> None:
        self._busy = False
        self._turn()

    def _handle(self, envelope: Envelope[Any]) -> None:
        """One message, as Pykka's actor loop handles it in a thread."""
        previous, worker._local.actor = worker.current(), self
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except BaseException:  # a crash is Worker's ActorCrashed; anything else the same
            if envelope.reply_to is not None:
                with contextlib.suppress(queue.Full):
                    envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                self.on_failure(*sys.exc_info())
        finally:
            worker._local.actor = previous


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
