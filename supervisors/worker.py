"""The actor base class: OTP's let-it-crash semantics on a Pykka threading actor."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pykka
from pykka import ActorDeadError, ActorRef

from supervisors import registry
from supervisors.errors import ActorCrashed, Killed, Rejected, StartFailed, is_normal
from supervisors.inbox import Inbox, fail_future

logger = logging.getLogger("supervisors")


class Stopped(Exception):
    """A queued call whose actor stopped cleanly before handling it; ``call`` retries it."""


@dataclass(frozen=True)
class Crash:
    """Ask an actor to fail through its real failure path (for drills and tests)."""

    reason: str = "crash requested"


class CrashRequested(Exception):
    """The exception a ``Crash`` message raises inside the actor."""


@dataclass(eq=False)
class Link:
    """What ties one incarnation to its supervisor; the supervisor creates it."""

    parent: ActorRef[Any] | None
    child_id: str
    name: str | None = None  # the registered name this incarnation joins
    started: bool = False
    stopping: bool = False  # the supervisor asked it to stop: no exit notice wanted
    reason: object = None
    settled: threading.Event = field(default_factory=threading.Event)  # started or exited
    exited: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class ChildExited:
    """Sent by an incarnation to its supervisor when it exits for any reason."""

    link: Link
    reason: object


class Pending:
    """A queued request taken out of order by ``Worker.drain``; answer it exactly once."""

    __slots__ = ("_future", "message")

    def __init__(self, message: object, future: Any) -> None:
        self.message = message
        self._future = future

    @property
    def answered(self) -> bool:
        return self._future is None

    def reply(self, value: object) -> None:
        if self._future is not None:
            self._future.set(value)
            self._future = None

    def fail(self, exc: BaseException) -> None:
        if self._future is not None:
            fail_future(self._future, exc)
            self._future = None


class Worker(pykka.ThreadingActor):
    """Subclass and implement ``handle``; optionally ``init`` and ``terminate``.

    ``handle`` returns the reply. Raising one of ``replies`` (``Rejected`` unless a
    subclass adds its own outcome types) answers the caller with it and the actor lives
    on; any other exception (``BaseException`` included) crashes it: its caller and every
    queued caller get ``ActorCrashed`` and its supervisor decides.
    """

    replies: tuple[type[BaseException], ...] = (Rejected,)

    # Daemon threads: an abandoned (stuck) actor must not keep the process alive.
    use_daemon_thread = True
    _link: Link | None = None
    degraded: str | None = None  # set by an actor that runs but refuses part of its work

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[Pending] = []
        self._exiting = False

    @staticmethod
    def _create_actor_inbox() -> Inbox:
        return Inbox()

    def init(self) -> None:
        """Runs in the actor's thread before any message; raising fails the start."""

    def handle(self, message: object) -> object:
        """Answer one message."""
        raise ValueError(f"unexpected message: {message!r}")

    def terminate(self) -> None:
        """Runs when the actor exits after a successful start, whatever the reason."""

    def drain(self, limit: int, accept: Callable[[object], bool]) -> list[Pending]:
        """Take up to ``limit`` further queued messages that ``accept``, in arrival order.

        For group commit: each must be answered through its ``Pending``. Any left
        unanswered when the current message is done are failed, never forgotten.
        """
        taken = [Pending(e.message, e.reply_to) for e in self.actor_inbox.take(limit, accept)]
        self._held.extend(taken)
        return taken

    @property
    def label(self) -> str:
        link = self._link
        return link.name or link.child_id if link is not None else type(self).__name__

    # Pykka's hooks, in the actor's own thread.

    def on_start(self) -> None:
        try:
            self.init()
        except BaseException as exc:
            logger.warning("%s failed to start: %r", self.label, exc)
            self._exit(exc)
            return
        link = self._link
        if self.actor_stopped.is_set():  # abandoned while init was slow: stay out of the way
            return
        if link is not None:
            link.started = True
            if link.name is not None:
                registry.join(link.name, self.actor_ref)
            link.settled.set()

    def on_receive(self, message: object) -> object:
        if message.__class__ is Crash:
            raise CrashRequested(message.reason)
        return self.handle(message)

    def _handle_receive(self, message: Any) -> Any:
        # Pykka's dispatch (stop, proxy calls, on_receive), wrapped so that every failure
        # takes OTP's path: one of ``replies`` is a reply; anything else, BaseException
        # included, crashes this actor alone (Pykka would stop every actor on one).
        try:
            return super()._handle_receive(message)
        except self.replies:
            raise
        except BaseException as exc:
            logger.error("%s crashed", self.label, exc_info=exc)
            self._exit(exc)
            raise ActorCrashed(self.label, exc) from exc
        finally:
            self.actor_inbox.handled += 1
            if self._held:
                self._settle_held(lambda: RuntimeError("request taken but not answered"))

    def on_stop(self) -> None:
        link = self._link
        self._exit("shutdown" if link is not None and link.stopping else "normal")

    def on_failure(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        # Reached only for a plain Pykka tell that raised: make it a crash like any other.
        self._exit(exc)

    # The single way out.

    def _exit(self, reason: object) -> None:
        if self._exiting:
            return
        self._exiting = True
        link = self._link
        if link is not None and link.name is not None:
            registry.leave(link.name, self.actor_ref)
        pykka.ActorRegistry.unregister(self.actor_ref)
        self.actor_stopped.set()
        error = self._queued_error(reason)
        self.actor_inbox.close(error)
        self._settle_held(error)
        if link is not None and link.started:
            try:
                self.terminate()
            except BaseException as exc:
                logger.error("%s failed in terminate", self.label, exc_info=exc)
                if is_normal(reason):
                    reason = exc
        if link is None:
            return
        link.reason = reason
        link.exited.set()
        link.settled.set()
        if link.started and not link.stopping and link.parent is not None:
            with contextlib.suppress(ActorDeadError):
                link.parent.tell(ChildExited(link, reason))

    def abandon(self) -> None:
        """Called by a supervisor giving up on a stuck actor: fail whatever waits on it."""
        self.actor_stopped.set()
        pykka.ActorRegistry.unregister(self.actor_ref)
        self.actor_inbox.close(self._queued_error(Killed("did not stop in time")))

    def _queued_error(self, reason: object) -> Callable[[], BaseException]:
        label = self.label
        if is_normal(reason):
            return lambda: Stopped(label)

        def crashed() -> BaseException:
            exc = ActorCrashed(label, reason)
            if isinstance(reason, BaseException):
                exc.__cause__ = reason
            return exc

        return crashed

    def _settle_held(self, error: Callable[[], BaseException]) -> None:
        held, self._held = self._held, []
        for pending in held:
            pending.fail(error())


def spawn(actor: Worker, link: Link, timeout: float | None) -> None:
    """Start ``actor`` under ``link`` and wait for its ``init``: OTP's ``start_link``."""
    actor._link = link
    pykka.ActorRegistry.register(actor.actor_ref)
    actor._start_actor_loop()
    if not link.settled.wait(timeout):
        actor.abandon()
        raise StartFailed(link.child_id, "timeout")
    if not link.started:
        reason = link.reason
        raise StartFailed(link.child_id, reason) from (
            reason if isinstance(reason, BaseException) else None
        )
