"""The one module that owns restart logic: OTP's ``supervisor`` as a Worker.

A supervisor talks to its children only by messages and events, never by blocking asks
to them, so a child can never deadlock it. Every decision is taken in the supervisor's
own thread, which is why a shutdown can never race with a restart.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from pykka import ActorDeadError, ActorRef

from supervisors import registry
from supervisors.errors import ChildError, Killed, Shutdown, StartFailed, is_normal
from supervisors.events import EventLog
from supervisors.spec import (
    ChildSpec,
    DynamicSupervisorSpec,
    Pool,
    SupervisorSpec,
    TaskSupervisorSpec,
)
from supervisors.worker import ChildExited, Link, Worker, spawn

START_TIMEOUT = 10.0  # for a worker's init; a supervisor's start waits for its whole subtree


@dataclass(frozen=True)
class WhichChildren:
    pass


@dataclass(frozen=True)
class CountChildren:
    pass


ChildKey = str | ActorRef[Any]  # a child id, or the ref a dynamic child was started with


@dataclass(frozen=True)
class TerminateChild:
    id: ChildKey


@dataclass(frozen=True)
class RestartChild:
    id: ChildKey


@dataclass(frozen=True)
class DeleteChild:
    id: ChildKey


@dataclass(frozen=True)
class StartChild:
    spec: ChildSpec


@dataclass(frozen=True)
class _RestartDue:
    child: Child  # the child whose group restart is due: OTP's try_again_restart id


class Child:
    """A child's live state. Written by its supervisor's thread only; read by anyone."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.actor: Worker | None = None
        self.link: Link | None = None
        self.status = "stopped"  # running, restarting, stopped, stuck
        self.declared = False
        self.restarts = 0
        self.restart_times: deque[float] = deque(maxlen=64)
        self.last_crash: dict[str, Any] | None = None
        self.started_at: float | None = None

    @property
    def ref(self) -> ActorRef[Any] | None:
        actor = self.actor
        return None if actor is None else actor.actor_ref


class Supervisor(Worker):
    """Starts its children in order, restarts them by its strategy, stops them in reverse."""

    def __init__(
        self,
        spec: SupervisorSpec | DynamicSupervisorSpec,
        path: str = "root",
        log: EventLog | None = None,
        member_name: str | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.path = path
        self.log = log if log is not None else EventLog()
        self.member_name = member_name  # set for a pool: its members all join this name
        self.children = [Child(c) for c in spec.children]
        self.restarts_total = 0
        self._window: deque[float] = deque()
        self._timers: list[threading.Timer] = []
        self._exit_reason: object = None
        self._pending: dict[Child, list[Child]] = {}  # a due restart: its child -> group

    # Lifecycle.

    def init(self) -> None:
        started: list[Child] = []
        for child in self.children:
            try:
                self._start(child)
            except StartFailed:
                for done in reversed(started):
                    self._stop_child(done)
                for c in self.children:
                    self._undeclare(c)
                raise
            started.append(child)

    def _exit(self, reason: object, cleanup: bool = True) -> None:
        if not self._exiting:
            self._exit_reason = reason  # for the shutdown event: why this supervisor stops
        super()._exit(reason, cleanup)

    def kill(self, reason: object = "killed") -> None:
        """Abandon this supervisor as ``Worker.kill`` does, from any thread. Its children go
        with it, as OTP's links take them down with their parent: each exits with
        ``reason`` after its current message, trapping exits or not (a gen_server exits
        when its parent does), and its name is free for the next incarnation's child.
        Children first: once this exit is signalled, the parent may start that incarnation."""
        for timer in self._timers:
            timer.cancel()
        for child in list(self.children):
            actor, link = child.actor, child.link
            if actor is not None and link is not None:
                link.stopping = True  # its supervisor is gone: nobody to tell
                actor.exit_next(reason)
            self._undeclare(child)
        super().kill(reason)

    def terminate(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self.log.append(self.path, "shutdown", None, self._exit_reason)
        children = list(reversed(self.children))
        self._stop_all(children)
        for child in children:
            self._mark_stopped(child)

    def handle(self, message: object) -> object:
        match message:
            case ChildExited():
                self._child_exited(message)
            case _RestartDue(child):
                self._restart_due(child)
            case WhichChildren():
                return [self._which(c) for c in reversed(self.children)]  # newest first
            case CountChildren():
                return self._count()
            case TerminateChild(child_id):
                self._terminate_child(self._get(child_id))
            case RestartChild(child_id):
                return self._restart_child(self._get(child_id))
            case DeleteChild(child_id):
                self._delete_child(self._get(child_id))
            case StartChild(spec):
                return self._start_child(spec)
            case _:
                return super().handle(message)
        return None

    # Starting and stopping one child.

    def _start(self, child: Child, restarted: bool = False) -> None:
        spec = child.spec
        if spec.name is not None and not child.declared:
            try:
                registry.declare(spec.name)
            except ValueError as exc:
                raise StartFailed(spec.id, exc) from exc
            child.declared = True
        link = Link(self.actor_ref, spec.id, self.member_name or _own_name(spec))
        try:
            actor = self._build(spec)
        except BaseException as exc:  # a constructor must not take its supervisor down
            raise StartFailed(spec.id, exc) from exc
        spawn(actor, link, None if spec.is_supervisor else START_TIMEOUT)
        child.actor, child.link = actor, link
        child.status = "running"
        child.started_at = time.time()
        self._note("child_restarted" if restarted else "child_started", spec.id, None)

    def _build(self, spec: ChildSpec) -> Worker:
        start = spec.start
        path = f"{self.path}/{spec.id}"
        if isinstance(start, Pool):
            members = [
                ChildSpec(f"{spec.id}-{i}", start.worker, start.args, start.kwargs)
                for i in range(1, start.size + 1)
            ]
            pool = SupervisorSpec(
                members,
                max_restarts=start.max_restarts,
                max_seconds=start.max_seconds,
                backoff=start.backoff,
                clock=self.spec.clock,
            )
            return Supervisor(pool, path, self.log, member_name=spec.name)
        if isinstance(start, SupervisorSpec | DynamicSupervisorSpec):
            return supervisor_for(start)(start, path, self.log)
        return start(*spec.args, **spec.kwargs)

    def _stop_child(self, child: Child) -> None:
        """Stop one child within its shutdown time, or abandon it as stuck."""
        self._stop_together([child])

    def _stop_all(self, children: list[Child]) -> None:
        """Stop children one after the other, in the order given (OTP's shutdown order)."""
        for child in children:
            self._stop_child(child)

    def _stop_together(self, children: list[Child]) -> None:
        """Ask every child to stop at once, then give each its own shutdown time."""
        began = time.monotonic()
        stopping = [(child, self._ask_to_stop(child)) for child in children]
        for child, asked in stopping:
            if asked is not None:
                self._await_stop(child, *asked, began)
            if child.spec.restart == "temporary":
                self._remove(child)

    def _ask_to_stop(self, child: Child) -> tuple[Worker, Link] | None:
        actor, link = child.actor, child.link
        if actor is None or link is None:
            return None
        child.actor = child.link = None
        link.stopping = True
        if link.name is not None:
            registry.leave(link.name, actor.actor_ref)
        if child.spec.shutdown != "brutal_kill":
            with contextlib.suppress(ActorDeadError):
                actor.actor_ref.stop(block=False)
        return actor, link

    def _await_stop(self, child: Child, actor: Worker, link: Link, began: float) -> None:
        shutdown = child.spec.shutdown
        if shutdown == "brutal_kill":
            actor.kill("killed")
            child.status = "stopped"
            self._note("child_terminated", child.spec.id, "killed")
        elif link.exited.wait(
            None if shutdown in (None, "infinity") else began + shutdown - time.monotonic()
        ):
            child.status = "stopped"
            self._note("child_terminated", child.spec.id, link.reason)
        else:
            actor.kill(Killed("did not stop in time"))
            child.status = "stuck"
            self._note("child_stuck", child.spec.id, "did not stop in time")

    # Deciding after an exit.

    def _child_exited(self, message: ChildExited) -> None:
        child = next((c for c in self.children if c.link is message.link), None)
        if child is None:
            return  # an incarnation we already stopped or replaced
        reason = message.reason
        child.actor = child.link = None
        if child.spec.is_supervisor and isinstance(reason, Shutdown):
            kind = "escalated"
        else:
            kind = "child_terminated" if is_normal(reason) else "child_crashed"
        if kind != "child_terminated":
            child.last_crash = _crash_record(reason)
        self._note(kind, child.spec.id, reason)
        restart = child.spec.restart
        if restart == "permanent" or (restart == "transient" and not is_normal(reason)):
            self._restart(child)
        elif restart == "temporary":
            self._remove(child)
        else:
            self._park(child)

    def _restart(self, child: Child) -> None:
        if not self._count_restart(child):
            self._give_up()
            return
        self._take_down(child)
        self._schedule(child, retry=False)

    def _take_down(self, child: Child) -> None:
        """Stop the rest of ``child``'s group in reverse start order; then every member
        left (temporary ones are dropped) is due to start again, as in OTP, where a group
        restart starts every non-temporary child, also one an operator had terminated."""
        group = self._group(child)
        for other in reversed(group):
            if other is not child:
                self._stop_child(other)
        group = [c for c in group if c in self.children]
        for c in group:
            c.status = "restarting"
        self._pending[child] = group

    def _group(self, child: Child) -> list[Child]:
        if self.spec.strategy == "one_for_all":
            return list(self.children)
        if self.spec.strategy == "rest_for_one":
            return self.children[self.children.index(child) :]
        return [child]

    def _schedule(self, child: Child, retry: bool) -> None:
        backoff = self.spec.backoff
        if backoff is not None:
            timer = threading.Timer(
                backoff.delay(len(self._window)), self._tell_self, (_RestartDue(child),)
            )
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
            timer.start()
        elif retry:
            # OTP's try_again_restart: go round the inbox so operators' calls get through.
            self._tell_self(_RestartDue(child))
        else:
            self._restart_due(child)

    def _restart_due(self, child: Child) -> None:
        group = self._pending.pop(child, None)
        if group is None or child.status != "restarting":
            return  # terminated meanwhile, or already restarted with another group
        for member in group:
            if member.status == "running" or member not in self.children:
                continue
            try:
                self._start(member, restarted=True)
            except StartFailed as exc:
                member.last_crash = _crash_record(exc.reason)
                self._note("child_crashed", member.spec.id, exc.reason)
                if not self._count_restart(member):
                    self._give_up()
                    return
                # OTP's try_again_restart: the failed child's whole group goes again.
                self._take_down(member)
                self._schedule(member, retry=True)
                return

    def _count_restart(self, child: Child) -> bool:
        """Record a restart; False once there are more than max_restarts in max_seconds."""
        now = self.spec.clock()
        window = self._window
        window.append(now)
        while now - window[0] > self.spec.max_seconds:
            window.popleft()
        child.restarts += 1
        child.restart_times.append(now)
        self.restarts_total += 1
        return len(window) <= self.spec.max_restarts

    def _give_up(self) -> None:
        self._note("gave_up", None, "reached_max_restart_intensity")
        self._exit(Shutdown("reached_max_restart_intensity"))  # terminate() stops the children

    def _tell_self(self, message: object) -> None:
        with contextlib.suppress(ActorDeadError):
            self.actor_ref.tell(message)

    # Operations (OTP's terminate_child, restart_child, delete_child, start_child).

    def _terminate_child(self, child: Child) -> None:
        self._stop_child(child)
        if child in self.children:
            self._park(child)
        # A restart waiting on this child is dropped: OTP leaves the rest of its group down.
        for member in self._pending.pop(child, ()):
            if member.status == "restarting":
                self._park(member)

    def _restart_child(self, child: Child) -> ActorRef[Any] | None:
        if child.status in ("running", "restarting"):
            raise ChildError(child.status, child.spec.id)
        try:
            self._start(child)
        except StartFailed:
            self._mark_stopped(child)  # no process and none coming: callers get NoProcess
            raise
        return child.ref

    def _delete_child(self, child: Child) -> None:
        if child.status in ("running", "restarting"):
            raise ChildError(child.status, child.spec.id)
        self._remove(child)

    def _start_child(self, spec: ChildSpec) -> ActorRef[Any] | None:
        existing = self._find(spec.id)
        if existing is not None:
            running = existing.status == "running"
            raise ChildError("already_started" if running else "already_present", spec.id)
        return self._add(spec)

    def _add(self, spec: ChildSpec) -> ActorRef[Any] | None:
        child = Child(spec)
        self.children.append(child)
        try:
            self._start(child)
        except StartFailed:
            self._remove(child)
            raise
        return child.ref

    # Bookkeeping.

    def _find(self, child_id: str) -> Child | None:
        return next((c for c in self.children if c.spec.id == child_id), None)

    def _get(self, key: ChildKey) -> Child:
        if isinstance(key, str):
            found = [c for c in self.children if c.spec.id == key]
        else:
            found = [
                c for c in self.children if c.ref is not None and c.ref.actor_urn == key.actor_urn
            ]
        if not found:
            raise ChildError("not_found", str(key))
        if len(found) > 1:  # dynamic children started from one spec share its id
            raise ChildError("ambiguous", str(key))
        return found[0]

    def _note(self, kind: str, child_id: str | None, reason: object) -> None:
        self.log.append(self.path, kind, child_id, reason)

    def _park(self, child: Child) -> None:
        """A child that will not come back by itself keeps its spec, for restart_child."""
        self._mark_stopped(child)

    def _mark_stopped(self, child: Child) -> None:
        if child.status != "stuck":  # also one that had crashed or awaited a restart
            child.status = "stopped"
        self._undeclare(child)

    def _remove(self, child: Child) -> None:
        self._undeclare(child)
        self.children = [c for c in self.children if c is not child]

    def _undeclare(self, child: Child) -> None:
        if child.declared and child.spec.name is not None:
            registry.undeclare(child.spec.name)
            child.declared = False

    def _which(self, child: Child) -> tuple[str, object, str, list[str]]:
        ref: object = child.ref if child.status == "running" else None
        if child.status == "restarting":
            ref = "restarting"
        kind = "supervisor" if child.spec.is_supervisor else "worker"
        return (child.spec.id, ref, kind, [_class_name(child.spec)])

    def _count(self) -> dict[str, int]:
        children = list(self.children)
        supervisors = sum(1 for c in children if c.spec.is_supervisor)
        return {
            "specs": len(children),
            "active": sum(1 for c in children if c.status == "running"),
            "supervisors": supervisors,
            "workers": len(children) - supervisors,
        }

    # The live view, read from any thread without messaging the supervisor.

    def describe(self, dynamic_limit: int | None = None) -> dict[str, Any]:
        """This supervisor's settings and its children, nested; plain data.

        With ``dynamic_limit``, a dynamic supervisor shows only its first children and
        sums up all of them (`children_total`, `children_running`, `children_inbox`): it
        may hold thousands.
        """
        spec = self.spec
        children = list(self.children)
        summed = dynamic_limit is not None and isinstance(self, DynamicSupervisor)
        shown = children[:dynamic_limit] if summed else children
        view = {
            "strategy": spec.strategy,
            "max_restarts": spec.max_restarts,
            "max_seconds": spec.max_seconds,
            "restarts": {"window": self._in_window(self._window), "total": self.restarts_total},
            "children": [self._describe(c, dynamic_limit) for c in shown],
        }
        if summed:
            view.update(_summed(children))
        return view

    def _describe(self, child: Child, dynamic_limit: int | None = None) -> dict[str, Any]:
        spec, actor = child.spec, child.actor
        status = child.status
        degraded = actor.degraded if actor is not None else None
        node: dict[str, Any] = {
            "id": spec.id,
            "path": f"{self.path}/{spec.id}",
            "name": spec.name or self.member_name,
            "kind": spec.kind,
            "class": _class_name(spec),
            "status": "degraded" if status == "running" and degraded else status,
            "degraded_reason": degraded,
            "restart": spec.restart,
            "shutdown": spec.shutdown,
            "restarts": {
                "window": self._in_window(child.restart_times),
                "total": child.restarts,
            },
            "last_crash": child.last_crash,
            "inbox": actor.actor_inbox.qsize() if actor is not None else 0,
            "handled": actor.actor_inbox.handled if actor is not None else 0,
            "started_at": child.started_at,
        }
        if isinstance(actor, Supervisor):
            node.update(actor.describe(dynamic_limit))
        return node

    def _in_window(self, times: deque[float]) -> int:
        now = self.spec.clock()
        return sum(1 for t in list(times) if now - t <= self.spec.max_seconds)


def _summed(children: list[Child]) -> dict[str, int]:
    """A dynamic supervisor's children counted, not described: once a second for
    thousands of sockets and channels, one pass, and an inbox's length read without its
    lock (a deque's length is one atomic read; the figure is a snapshot anyway)."""
    running = inbox = 0
    for child in children:
        running += child.status == "running"
        if child.actor is not None:
            inbox += len(child.actor.actor_inbox.queue)
    return {"children_total": len(children), "children_running": running, "children_inbox": inbox}


class DynamicSupervisor(Supervisor):
    """Children only through ``start_child``, any number from one spec, each addressed by
    the ref ``start_child`` returns; ``max_children`` caps them. They stop all at once."""

    spec: DynamicSupervisorSpec

    def _start_child(self, spec: ChildSpec) -> ActorRef[Any] | None:
        limit = self.spec.max_children
        if limit is not None and len(self.children) >= limit:
            raise ChildError("max_children", spec.id)
        return self._add(spec)

    def _stop_all(self, children: list[Child]) -> None:
        self._stop_together(children)

    def _park(self, child: Child) -> None:
        # A dynamic child that is terminated or not restarted leaves no spec behind: its
        # max_children slot is free again.
        self._remove(child)


class TaskSupervisor(DynamicSupervisor):
    """Elixir's Task.Supervisor (the client side is ``task.py``): temporary children, each
    stopped within the spec's ``shutdown``. A task's start and normal end are routine, not
    decisions: only its failures reach the event log, so tasks do not drown it."""

    spec: TaskSupervisorSpec

    def _start_child(self, spec: ChildSpec) -> ActorRef[Any] | None:
        return super()._start_child(replace(spec, shutdown=self.spec.shutdown))

    def _note(self, kind: str, child_id: str | None, reason: object) -> None:
        if child_id is None or kind not in ("child_started", "child_terminated"):
            super()._note(kind, child_id, reason)


def supervisor_for(spec: SupervisorSpec | DynamicSupervisorSpec) -> type[Supervisor]:
    if isinstance(spec, TaskSupervisorSpec):
        return TaskSupervisor
    return DynamicSupervisor if isinstance(spec, DynamicSupervisorSpec) else Supervisor


def _own_name(spec: ChildSpec) -> str | None:
    # A pool's members join the pool's name; the pool supervisor itself does not.
    return None if spec.kind == "pool" else spec.name


def _class_name(spec: ChildSpec) -> str:
    start = spec.start
    if isinstance(start, Pool):
        return f"Pool[{start.worker.__name__}]"
    if isinstance(start, SupervisorSpec | DynamicSupervisorSpec):
        return supervisor_for(start).__name__
    return start.__name__


def _crash_record(reason: object) -> dict[str, Any]:
    if isinstance(reason, BaseException):
        return {"type": type(reason).__name__, "message": str(reason), "at": time.time()}
    return {"type": "exit", "message": str(reason), "at": time.time()}
