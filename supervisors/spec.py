"""Child and supervisor specifications: plain data, as in OTP's ``supervisor.erl``.

Every field is checked when a spec is built (OTP checks them at ``start_link`` and
``start_child``), and a built spec cannot change (frozen, its children a tuple), so a spec
that reaches ``start_tree`` or ``start_child`` is valid; a bad field raises ``InvalidSpec``
naming it and OTP's reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from supervisors.errors import InvalidSpec
from supervisors.worker import Worker

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
Restart = Literal["permanent", "transient", "temporary"]
Clock = Callable[[], float]
Shutdown = float | Literal["brutal_kill", "infinity"] | None  # None: "infinity"


@dataclass(frozen=True)
class Backoff:
    """Delay restarts: ``initial`` seconds, times ``factor`` per restart in the window."""

    initial: float = 0.1
    maximum: float = 5.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        _check("initial", self.initial, _is_seconds(self.initial), "seconds >= 0")
        _check("maximum", self.maximum, _is_seconds(self.maximum), "seconds >= 0")
        _check("factor", self.factor, _is_seconds(self.factor) and self.factor >= 1, ">= 1")

    def delay(self, recent_restarts: int) -> float:
        return min(self.maximum, self.initial * self.factor ** max(recent_restarts - 1, 0))


@dataclass(frozen=True)
class SupervisorSpec:
    """A supervisor and its static children, started left to right."""

    children: Sequence[ChildSpec] = ()
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0
    backoff: Backoff | None = None
    clock: Clock = time.monotonic  # inject a VirtualClock to test intensity without sleeping

    def __post_init__(self) -> None:
        strategies = ("one_for_one", "one_for_all", "rest_for_one")
        _check("strategy", self.strategy, self.strategy in strategies, " | ".join(strategies))
        _check_flags(self)
        _check_clock(self.clock)
        children = self.children
        _check(
            "children",
            children,
            isinstance(children, Sequence) and all(isinstance(c, ChildSpec) for c in children),
            "a sequence of ChildSpec",
        )
        ids = [child.id for child in children]
        _check("children", ids, len(ids) == len(set(ids)), "unique child ids")
        object.__setattr__(self, "children", tuple(children))  # not changed after the check


@dataclass(frozen=True)
class DynamicSupervisorSpec:
    """Elixir's DynamicSupervisor: one_for_one, children added with ``start_child``."""

    max_children: int | None = None
    max_restarts: int = 3
    max_seconds: float = 5.0
    backoff: Backoff | None = None
    clock: Clock = time.monotonic
    strategy: Strategy = field(default="one_for_one", init=False)
    children: Sequence[ChildSpec] = field(default=(), init=False)

    def __post_init__(self) -> None:
        limit = self.max_children
        _check("max_children", limit, limit is None or _is_count(limit), "None or an integer >= 0")
        _check_flags(self)
        _check_clock(self.clock)


@dataclass(frozen=True)
class TaskSupervisorSpec(DynamicSupervisorSpec):
    """Elixir's Task.Supervisor: a DynamicSupervisor of temporary tasks (``task.py``), each
    stopped within ``shutdown`` (as ``ChildSpec.shutdown``)."""

    shutdown: Shutdown = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_shutdown(self.shutdown)


@dataclass(frozen=True)
class Pool:
    """``size`` identical workers behind one registered name, routed by least load."""

    worker: type
    size: int
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_restarts: int = 3  # the pool's own supervisor: members restart one for one
    max_seconds: float = 5.0
    backoff: Backoff | None = None

    def __post_init__(self) -> None:
        _check("worker", self.worker, _is_worker(self.worker), "a Worker subclass")
        _check("size", self.size, _is_count(self.size) and self.size >= 1, "an integer >= 1")
        _check_start_arguments(self.args, self.kwargs)
        _check_flags(self)


@dataclass(frozen=True)
class ChildSpec:
    """One child: how to start it, when to restart it, how long to wait for it to stop.

    ``start`` is a ``Worker`` subclass (started with ``args``/``kwargs``), a
    ``SupervisorSpec``, a ``DynamicSupervisorSpec`` or a ``Pool``. ``shutdown`` is as in
    OTP: seconds to wait for ``terminate`` before the child is abandoned, ``"brutal_kill"``
    (abandoned at once, no ``terminate``) or ``"infinity"``/``None`` (no limit). Left out,
    it is OTP's default: 5 seconds for a worker, no limit for a supervisor or a pool.
    """

    id: str
    start: type | SupervisorSpec | DynamicSupervisorSpec | Pool
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    restart: Restart = "permanent"
    shutdown: Shutdown | Literal["default"] = "default"
    name: str | None = None

    def __post_init__(self) -> None:
        _check("id", self.id, _is_name(self.id), "a non-empty str")
        start = self.start
        _check(
            "start",
            start,
            _is_worker(start) or isinstance(start, (SupervisorSpec, DynamicSupervisorSpec, Pool)),
            "a Worker subclass, a SupervisorSpec, a DynamicSupervisorSpec or a Pool",
        )
        _check_start_arguments(self.args, self.kwargs)
        restarts = ("permanent", "transient", "temporary")
        _check("restart", self.restart, self.restart in restarts, " | ".join(restarts))
        if self.shutdown == "default":
            object.__setattr__(self, "shutdown", None if self.is_supervisor else 5.0)
        _check_shutdown(self.shutdown)
        _check(
            "name", self.name, self.name is None or _is_name(self.name), "None or a non-empty str"
        )

    @property
    def is_supervisor(self) -> bool:
        return not isinstance(self.start, type)

    @property
    def kind(self) -> str:
        if isinstance(self.start, Pool):
            return "pool"
        return "supervisor" if self.is_supervisor else "worker"


def check_spec(value: object, kinds: type | tuple[type, ...], expected: str) -> None:
    """Refuse, in the caller, what is not a spec at all (OTP's ``invalid_child_spec``): a
    supervisor handed one would fail on it."""
    _check("spec", value, isinstance(value, kinds), expected)


def _check(field: str, value: object, ok: bool, expected: str) -> None:
    if not ok:
        raise InvalidSpec(field, value, expected)


def _check_flags(spec: SupervisorSpec | DynamicSupervisorSpec | Pool) -> None:
    # OTP's invalid_intensity and invalid_period.
    restarts, seconds = spec.max_restarts, spec.max_seconds
    _check("max_restarts", restarts, _is_count(restarts), "an integer >= 0")
    _check("max_seconds", seconds, _is_seconds(seconds) and seconds > 0, "seconds > 0")
    _check(
        "backoff",
        spec.backoff,
        spec.backoff is None or isinstance(spec.backoff, Backoff),
        "a Backoff",
    )


def _check_clock(clock: object) -> None:
    _check("clock", clock, callable(clock), "a callable returning seconds, as time.monotonic")


def _check_shutdown(shutdown: object) -> None:
    _check(
        "shutdown",
        shutdown,
        shutdown in (None, "brutal_kill", "infinity") or _is_seconds(shutdown),
        "'brutal_kill', 'infinity' or seconds >= 0",
    )


def _check_start_arguments(args: object, kwargs: object) -> None:
    _check("args", args, isinstance(args, tuple), "a tuple")
    _check("kwargs", kwargs, isinstance(kwargs, Mapping), "a mapping")


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0


def _is_seconds(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _is_name(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _is_worker(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, Worker)
