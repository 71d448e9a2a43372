"""Tasks under a Task.Supervisor (Elixir's ``Task`` and ``Task.Supervisor``).

A task runs one function in its own supervised actor and ends with it. ``async_`` and
``async_stream`` link the task to the calling actor, as Elixir does: if either exits
abnormally, so does the other (a caller that is not an actor cannot be linked).
``async_nolink`` and ``async_stream_nolink`` do not link. Either way the caller gets the
outcome through the ``Task``: ``await_`` returns the value or raises what the function
raised (one of ``Worker.replies``, e.g. a ``Rejected``, as is; anything else as
``ActorCrashed`` with the exception as its cause).

A Python thread cannot be stopped from outside. A task given up on (``await_`` timed out,
``shutdown``, a stream closed early or timed out) is killed as ``exit(task, "kill")``
does: it is out of the tree at once and its result is dropped, but a function that is
running goes on in its thread until it returns.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from pykka import ActorRef
from pykka._envelope import Envelope

from supervisors import signals
from supervisors.call import DEFAULT_TIMEOUT, call
from supervisors.errors import ActorCrashed, CallTimeout, NoProcess
from supervisors.reply import Reply
from supervisors.spec import ChildSpec
from supervisors.supervisor import StartChild
from supervisors.tree import Tree
from supervisors.worker import Stopped, Worker, current

Sup = str | ActorRef[Any] | Tree
Outcome = tuple[Literal["ok"], Any] | tuple[Literal["exit"], object]

_RUN = object()  # the one message a task handles
_END = object()
_answering = threading.Lock()  # a task's thread and its killer may answer at once


class TaskWorker(Worker):
    """Runs ``fun(*args, **kwargs)`` on its one message and stops: a temporary child."""

    def __init__(
        self, fun: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        super().__init__()
        self.fun, self.args, self.kwargs = fun, args, kwargs

    def handle(self, message: object) -> object:
        if message is not _RUN:
            return super().handle(message)
        # The task leaves its supervisor before its outcome is answered, so whoever has
        # the outcome sees the supervisor without it. A crash exits through the Worker.
        try:
            value = self.fun(*self.args, **self.kwargs)
        except self.replies:
            self._exit("normal")
            raise
        self._exit("normal")
        return value

    def signal_exit(self, sender: ActorRef[Any] | None, reason: object) -> None:
        # A task is inside its one message from start to end, so an exit signal that
        # waited for the message to end would wait for the function: it abandons the task
        # at once instead, as "kill" does. So a task dies with the caller it is linked to.
        if reason != "normal":
            self.kill("killed" if reason == "kill" else reason)

    def kill(self, reason: object = "killed") -> None:
        super().kill(reason)
        # The function may run on in its thread; whoever awaits the task hears now.
        envelope = self.actor_inbox.current
        if envelope is not None and isinstance(envelope.reply_to, _Outcome):
            envelope.reply_to.set_exception((None, ActorCrashed(self.label, reason), None))


class _Outcome(Reply):
    """A task's reply slot: readable any number of times, and it can tell a stream."""

    __slots__ = ("_answered", "_stream")

    def __init__(self, stream: queue.SimpleQueue[_Outcome] | None = None) -> None:
        super().__init__()
        self._answered = False
        self._stream = stream

    # The first answer stands: a killed task's late result is dropped, not an error.

    def set(self, value: Any = None) -> None:
        with _answering:
            if self._done:
                return
            super().set(value)
        self._tell_stream()

    def set_exception(self, exc_info: Any = None) -> None:
        with _answering:
            if self._done:
                return
            super().set_exception(exc_info)
        self._tell_stream()

    def _tell_stream(self) -> None:
        if self._stream is not None:
            self._stream.put(self)

    def wait(self, timeout: float) -> bool:
        if not self._answered:
            self._answered = super().wait(timeout)
        return self._answered


class Task:
    """A running task, as ``async_`` returns it; its owner awaits it once."""

    __slots__ = ("_outcome", "ref")

    def __init__(self, ref: ActorRef[Any], outcome: _Outcome) -> None:
        self.ref = ref
        self._outcome = outcome

    def await_(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The function's value, or raise its failure; after ``timeout`` seconds the task
        is killed and ``CallTimeout`` raised."""
        if not self._outcome.wait(timeout):
            self.kill()
            raise CallTimeout(f"task {self.ref}: no result within {timeout} s")
        try:
            return self._outcome.result()
        except Stopped:  # stopped with its supervisor before it ran
            raise ActorCrashed(str(self.ref), "shutdown") from None

    def yield_(self, timeout: float = 0.0) -> Outcome | None:
        """``("ok", value)`` or ``("exit", reason)`` once done; None if still running after
        ``timeout`` seconds (it goes on: await, yield again or shut it down)."""
        return self.outcome() if self._outcome.wait(timeout) else None

    def shutdown(self, timeout: float | Literal["brutal_kill"] = DEFAULT_TIMEOUT) -> Outcome | None:
        """Give the task ``timeout`` seconds to finish, then kill it. Its outcome if it
        finished; None if it was killed."""
        if self._outcome.wait(0 if timeout == "brutal_kill" else timeout):
            return self.outcome()
        self.kill()
        return None

    def kill(self) -> None:
        """Kill the task; its outcome becomes ``("exit", "killed")``."""
        signals.exit(self.ref, "kill")
        self._outcome.set_exception((None, ActorCrashed(str(self.ref), "killed"), None))

    def outcome(self) -> Outcome:
        try:
            return ("ok", self.await_(0))
        except ActorCrashed as exc:
            return ("exit", exc.__cause__ if exc.__cause__ is not None else exc.reason)
        except TaskWorker.replies as exc:
            return ("exit", exc)


def async_(sup: Sup, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
    """Run ``fun(*args, **kwargs)`` as a task linked to the calling actor."""
    return _start(sup, fun, args, kwargs, linked=True)


def async_nolink(sup: Sup, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
    """Run ``fun(*args, **kwargs)`` as a task tied to nobody."""
    return _start(sup, fun, args, kwargs, linked=False)


def start_child(sup: Sup, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> ActorRef[Any]:
    """Fire and forget: nobody reads the result; a failure is logged as a crash."""
    return _start(sup, fun, args, kwargs, linked=False).ref


def async_stream(
    sup: Sup,
    items: Iterable[Any],
    fun: Callable[[Any], Any],
    *,
    max_concurrency: int | None = None,
    ordered: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    on_timeout: Literal["exit", "kill_task"] = "exit",
) -> Iterator[Outcome]:
    """``fun(item)`` for each item, as linked tasks; yields each ``Outcome``.

    At most ``max_concurrency`` (default: the CPU count) tasks run at once, and items are
    taken from ``items`` only as results are consumed: back-pressure. ``ordered`` yields in
    the items' order, else as tasks finish. A task running longer than ``timeout`` seconds
    either ends the stream with ``CallTimeout`` (``on_timeout="exit"``) or is killed and
    yields ``("exit", "timeout")`` (``"kill_task"``). Closing the stream early kills the
    tasks still running.
    """
    return _stream(sup, items, fun, max_concurrency, ordered, timeout, on_timeout, linked=True)


def async_stream_nolink(
    sup: Sup,
    items: Iterable[Any],
    fun: Callable[[Any], Any],
    *,
    max_concurrency: int | None = None,
    ordered: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    on_timeout: Literal["exit", "kill_task"] = "exit",
) -> Iterator[Outcome]:
    """``async_stream`` with tasks tied to nobody."""
    return _stream(sup, items, fun, max_concurrency, ordered, timeout, on_timeout, linked=False)


def _start(
    sup: Sup,
    fun: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    linked: bool,
    stream: queue.SimpleQueue[_Outcome] | None = None,
) -> Task:
    task_id = getattr(fun, "__name__", None) or "task"
    spec = ChildSpec(
        task_id,
        TaskWorker,
        kwargs={"fun": fun, "args": args, "kwargs": kwargs},
        restart="temporary",
    )
    ref = call(sup.ref if isinstance(sup, Tree) else sup, StartChild(spec))
    if linked and current() is not None:
        with contextlib.suppress(NoProcess):  # gone already: its outcome will say why
            signals.link(ref)
    outcome = _Outcome(stream)
    ref.actor_inbox.put(Envelope(_RUN, outcome))
    return Task(ref, outcome)


def _stream(
    sup: Sup,
    items: Iterable[Any],
    fun: Callable[[Any], Any],
    max_concurrency: int | None,
    ordered: bool,
    timeout: float,
    on_timeout: str,
    linked: bool,
) -> Iterator[Outcome]:
    limit = max_concurrency if max_concurrency is not None else os.cpu_count() or 1
    if limit < 1:
        raise ValueError(f"max_concurrency must be >= 1, not {limit}")
    if on_timeout not in ("exit", "kill_task"):
        raise ValueError(f"on_timeout must be 'exit' or 'kill_task', not {on_timeout!r}")
    source = iter(items)
    finished: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()
    running: deque[tuple[Task, float]] = deque()  # in start order, with deadlines
    try:
        while True:
            while len(running) < limit:
                item = next(source, _END)
                if item is _END:
                    break
                task = _start(sup, fun, (item,), {}, linked, finished)
                running.append((task, time.monotonic() + timeout))
            if not running:
                return
            task, done = _next_done(running, finished, ordered)
            running.remove(next(r for r in running if r[0] is task))
            if done:
                yield task.outcome()
                continue
            task.kill()
            if on_timeout == "exit":
                raise CallTimeout(f"async_stream: a task took longer than {timeout} s")
            yield ("exit", "timeout")
    finally:
        for task, _ in running:  # the consumer stopped early, or the stream failed
            task.kill()


def _next_done(
    running: deque[tuple[Task, float]], finished: queue.SimpleQueue[_Outcome], ordered: bool
) -> tuple[Task, bool]:
    """The next task to report, and whether it finished (False: it timed out)."""
    if ordered:
        task, deadline = running[0]
        return task, task._outcome.wait(deadline - time.monotonic())
    while True:
        task, deadline = min(running, key=lambda r: r[1])
        try:
            outcome = finished.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            return task, False
        done = next((t for t, _ in running if t._outcome is outcome), None)
        if done is not None:  # else a task already killed for its timeout
            done._outcome.wait(0)
            return done, True
