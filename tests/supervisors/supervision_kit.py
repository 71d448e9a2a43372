"""Test workers and helpers for the supervision tests (imported by the test modules).

No ``__init__.py`` in this directory on purpose: with one, pytest's default ``prepend``
import mode would import this directory as a package named ``supervisors`` and shadow the
runtime under test. So modules here are imported by their (distinctive) basenames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from supervisors import EventLog, Rejected, Tree, Worker
from supervisors.inbox import Inbox

WAIT = 5.0  # the bound on every wait for something that should happen promptly


class Refused(Rejected):
    """An expected outcome a test worker answers with; it must not crash the worker."""


class Fatal(BaseException):
    """A BaseException that is neither Exception nor SystemExit."""


@dataclass
class Lab:
    """Shared between a test and its workers: an order log and failure switches."""

    entries: list[tuple[str, str]] = field(default_factory=list)
    fail_init: dict[str, int] = field(default_factory=dict)  # id -> failures left (-1: always)
    init_error: Callable[[], BaseException] = lambda: RuntimeError("init failed")
    fail_terminate: set[str] = field(default_factory=set)
    on_terminate: dict[str, Callable[[], None]] = field(default_factory=dict)
    inits: dict[str, int] = field(default_factory=dict)
    started: dict[str, threading.Event] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, who: str) -> None:
        with self.lock:
            self.entries.append((what, who))
            if what == "init":
                self.inits[who] = self.inits.get(who, 0) + 1
                self.started.setdefault(who, threading.Event()).set()
                self.threads.append(threading.current_thread())

    def mark(self) -> int:
        with self.lock:
            return len(self.entries)

    def since(self, mark: int) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.entries[mark:])

    def started_event(self, who: str) -> threading.Event:
        with self.lock:
            return self.started.setdefault(who, threading.Event())

    def take_init_failure(self, who: str) -> bool:
        with self.lock:
            left = self.fail_init.get(who, 0)
            if left == 0:
                return False
            if left > 0:
                self.fail_init[who] = left - 1
            return True


class CountingInbox(Inbox):
    """An inbox that lets a test wait until N messages have been put, without polling."""

    def __init__(self) -> None:
        super().__init__()
        self._count_lock = threading.Lock()
        self.puts = 0
        self._watchers: list[tuple[int, threading.Event]] = []

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        with self._count_lock:
            self.puts += 1
            for n, event in self._watchers:
                if self.puts >= n:
                    event.set()

    def when_puts(self, n: int) -> threading.Event:
        """An event set once ``n`` messages in total have been put."""
        event = threading.Event()
        with self._count_lock:
            if self.puts >= n:
                event.set()
            else:
                self._watchers.append((n, event))
        return event


@dataclass(frozen=True)
class Block:
    """Handled by setting ``entered`` and waiting for ``release``; then ``then`` runs."""

    release: threading.Event
    entered: threading.Event = field(default_factory=threading.Event)
    then: BaseException | None = None  # raised after the release, if given


class Probe(Worker):
    """A test worker. Messages:

    "ping" → ("pong", child id, urn); ("echo", x) → x; ("raise", exc) raises exc;
    ("reject", text) raises ``Refused``; "stop" stops itself normally; ``Block``.
    """

    def __init__(self, lab: Lab | None = None) -> None:
        super().__init__()
        self.lab = lab if lab is not None else Lab()

    @staticmethod
    def _create_actor_inbox() -> CountingInbox:
        return CountingInbox()

    @property
    def who(self) -> str:
        link = self._link
        return link.child_id if link is not None else "unlinked"

    def init(self) -> None:
        self.lab.record("init", self.who)
        if self.lab.take_init_failure(self.who):
            raise self.lab.init_error()

    def terminate(self) -> None:
        self.lab.record("terminate", self.who)
        hook = self.lab.on_terminate.get(self.who)
        if hook is not None:
            hook()
        if self.who in self.lab.fail_terminate:
            raise OSError(f"{self.who} failed to clean up")

    def handle(self, message: object) -> object:
        match message:
            case "ping":
                return ("pong", self.who, self.actor_urn)
            case ("echo", value):
                return value
            case ("raise", exc):
                raise exc
            case ("reject", text):
                raise Refused(text)
            case "stop":
                self.stop()  # a normal exit, after this message is answered
                return "stopping"
            case Block(release, entered, then):
                entered.set()
                if not release.wait(30):
                    raise TimeoutError("test never released the block")
                if then is not None:
                    raise then
                return ("released", self.who)
        return super().handle(message)


def wait_event(
    log: EventLog,
    kind: str,
    child: str | None = None,
    after: int = 0,
    supervisor: str | None = None,
    timeout: float = WAIT,
) -> Any:
    """Wait for the first event of ``kind`` (for ``child``, by ``supervisor``) after ``after``."""

    def matches(event: Any) -> bool:
        return (
            event.kind == kind
            and (child is None or event.child == child)
            and (supervisor is None or event.supervisor == supervisor)
        )

    return log.wait_for(matches, after=after, timeout=timeout)


def kinds(log: EventLog, after: int = 0, supervisor: str | None = None) -> list[tuple]:
    """(kind, child) of the events after ``after``, optionally for one supervisor."""
    return [
        (e.kind, e.child)
        for e in log.since(after)
        if supervisor is None or e.supervisor == supervisor
    ]


def stop_tree(tree: Tree, timeout: float = 15.0) -> object:
    """``tree.stop()`` with a bound: fail loudly rather than hang the suite."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(tree.stop()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "tree.stop() did not return"
    return result[0]


def in_thread(fn: Callable[[], Any]) -> Future:
    """Run ``fn`` in a fresh daemon thread; its outcome lands on the returned future."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def outcome(future: Future, timeout: float = WAIT) -> Any:
    """The future's result, or the exception it raised (as a value)."""
    try:
        return future.result(timeout)
    except TimeoutError:
        raise AssertionError("no outcome within the timeout: something hangs") from None
    except BaseException as exc:
        return exc
