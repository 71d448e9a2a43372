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
from pykka._envelope import Envelope

from supervisors import registry
from supervisors.errors import (
    ActorCrashed,
    Rejected,
    StartFailed,
    SupervisorError,
    is_normal,
)
from supervisors.inbox import Inbox, fail_future
from supervisors.reply import Reply

logger = logging.getLogger("supervisors")

# Guards every actor's exit claim and its monitors and links: taken once per exit and per
# monitor or link call, never per message.
_signals = threading.Lock()
_local = threading.local()  # .actor: the Worker whose thread this is


class Stopped(Exception):
    """A queued call whose actor stopped cleanly before handling it; ``call`` retries it."""


@dataclass(frozen=True)
class Crash:
    """Ask an actor to fail through its real failure path (for drills and tests)."""

    reason: str = "crash requested"


class CrashRequested(Exception):
    """The exception a ``Crash`` message raises inside the actor."""


class MonitorRef:
    """What ``monitor`` returns; the ``Down`` message carries it back."""

    __slots__ = ("actor", "target")

    def __init__(self, target: ActorRef[Any] | str, actor: Worker | None) -> None:
        self.target = target  # as given: a name or a ref
        self.actor = actor  # the incarnation watched; None if there was none

    def __repr__(self) -> str:
        return f"MonitorRef({self.target})"


@dataclass(frozen=True)
class Down:
    """A monitored actor exited (reason ``"noproc"`` if it was gone already)."""

    ref: MonitorRef
    reason: object


@dataclass(frozen=True)
class Exit:
    """An exit signal from a linked actor (or ``exit()``), received by one that traps exits."""

    sender: ActorRef[Any] | None
    reason: object


@dataclass(frozen=True)
class ExitSignal:
    """Makes a non-trapping actor exit with ``reason`` once its current message is done."""

    reason: object


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

    ``handle`` returns the reply. Raising one of ``replies`` (``Rejected`` and
    ``SupervisorError`` unless a subclass adds its own outcome types) answers the caller
    with it and the actor lives on; any other exception (``BaseException`` included)
    crashes it: its caller and every queued caller get ``ActorCrashed`` and its
    supervisor decides.
    """

    # A supervisor's ChildError and StartFailed answer too: refusals, not crashes.
    replies: tuple[type[BaseException], ...] = (Rejected, SupervisorError)

    # Daemon threads: an abandoned (stuck) actor must not keep the process alive.
    use_daemon_thread = True
    _link: Link | None = None
    degraded: str | None = None  # set by an actor that runs but refuses part of its work
    trap_exit = False  # True: exit signals arrive as ``Exit`` messages instead of stopping it
    # Who watches this actor; created on first use, so unused they cost nothing.
    _monitors: dict[MonitorRef, Worker] | None = None
    _links: set[Worker] | None = None

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

    def drain(
        self, limit: int, accept: Callable[[object], bool], *, defer: bool = False
    ) -> list[Pending]:
        """Take up to ``limit`` further queued messages that ``accept``, in arrival order.

        For group commit: each must be answered through its ``Pending``. Any left
        unanswered when the current message is done are failed, never forgotten, unless
        ``defer``: then they are the holder's to answer, as with ``defer()``.
        """
        taken = [Pending(e.message, e.reply_to) for e in self.actor_inbox.take(limit, accept)]
        if not defer:
            self._held.extend(taken)
        return taken

    def defer(self) -> Pending:
        """Answer the message being handled later, through the returned ``Pending`` (OTP's
        ``{:noreply, state}`` and ``GenServer.reply/2``): ``handle``'s return value is then
        ignored, and it must not raise a ``Rejected`` (fail the ``Pending`` instead).
        Whoever holds the ``Pending`` (another thread, say) answers it exactly once."""
        envelope = self.actor_inbox.current
        assert envelope is not None, "defer() is for the message being handled"
        pending = Pending(envelope.message, envelope.reply_to)
        envelope.reply_to = None  # Pykka's loop then leaves the reply alone
        return pending

    @property
    def label(self) -> str:
        link = self._link
        return link.name or link.child_id if link is not None else type(self).__name__

    # Pykka's hooks, in the actor's own thread.

    def on_start(self) -> None:
        _local.actor = self
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
        kind = message.__class__
        if kind is Crash:
            raise CrashRequested(message.reason)
        if kind is ExitSignal:
            self._exit(message.reason)
            return None
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

    def _exit(self, reason: object, cleanup: bool = True) -> None:
        with _signals:
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
        if cleanup:  # else another thread is killing this one: the held requests are its own
            self._settle_held(error)
        if cleanup and link is not None and link.started:
            try:
                self.terminate()
            except BaseException as exc:
                logger.error("%s failed in terminate", self.label, exc_info=exc)
                if is_normal(reason):
                    reason = exc
        self._signal_watchers(reason)
        if link is None:
            return
        link.reason = reason
        link.exited.set()
        link.settled.set()
        if link.started and not link.stopping and link.parent is not None:
            with contextlib.suppress(ActorDeadError):
                link.parent.tell(ChildExited(link, reason))

    def kill(self, reason: object = "killed") -> None:
        """OTP's ``exit(Pid, kill)`` as far as a thread allows: from any thread, the actor
        is abandoned at once. It takes no more messages, its queued callers are answered,
        ``terminate`` does not run, and its exit is signalled as any other. A handler
        running in its thread finishes, and its caller gets what it returns."""
        self._exit(reason, cleanup=False)

    def signal_exit(self, sender: ActorRef[Any] | None, reason: object) -> None:
        """Deliver an exit signal with OTP's rules: ``kill`` kills; an actor that traps
        exits gets an ``Exit`` message; otherwise ``normal`` is ignored and any other reason
        makes it exit with that reason after its current message, ahead of queued ones."""
        if reason == "kill":
            self.kill()
        elif self.trap_exit:
            post(self, Exit(sender, reason))
        elif reason != "normal":
            self.exit_next(reason)

    def exit_next(self, reason: object) -> None:
        """Exit with ``reason`` once the current message is done, ahead of queued ones."""
        self.actor_inbox.put_first(Envelope(ExitSignal(reason), Reply()))

    def _signal_watchers(self, reason: object) -> None:
        with _signals:
            monitors, links = self._monitors, self._links
            self._monitors = self._links = None
            for other in links or ():
                if other._links is not None:
                    other._links.discard(self)
        for ref, watcher in (monitors or {}).items():
            post(watcher, Down(ref, reason))
        for other in links or ():
            other.signal_exit(self.actor_ref, reason)

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
        actor.kill()
        raise StartFailed(link.child_id, "timeout")
    if not link.started:
        reason = link.reason
        raise StartFailed(link.child_id, reason) from (
            reason if isinstance(reason, BaseException) else None
        )


def post(target: Worker | ActorRef[Any], message: object) -> None:
    """Put ``message`` in ``target``'s inbox without waiting; a closed inbox drops it. The
    reply slot nobody reads keeps a ``Rejected`` from handling it from being a crash."""
    target.actor_inbox.put(Envelope(message, Reply()))


def current() -> Worker | None:
    """The actor whose thread is running, if any."""
    return getattr(_local, "actor", None)


def watch(target: Worker, ref: MonitorRef, watcher: Worker) -> bool:
    """Register a monitor; False if ``target`` has exited (or is exiting) already."""
    with _signals:
        if target._exiting:
            return False
        if target._monitors is None:
            target._monitors = {}
        target._monitors[ref] = watcher
        return True


def unwatch(target: Worker, ref: MonitorRef) -> None:
    with _signals:
        if target._monitors is not None:
            target._monitors.pop(ref, None)


def tie(one: Worker, other: Worker) -> bool:
    """Link two actors both ways; False if ``other`` has exited (or is exiting) already."""
    with _signals:
        if other._exiting or one._exiting:
            return False
        for a, b in ((one, other), (other, one)):
            if a._links is None:
                a._links = set()
            a._links.add(b)
        return True


def untie(one: Worker, other: Worker) -> None:
    with _signals:
        for a, b in ((one, other), (other, one)):
            if a._links is not None:
                a._links.discard(b)
