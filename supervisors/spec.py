"""Child and supervisor specifications: plain data, as in OTP's ``supervisor.erl``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
Restart = Literal["permanent", "transient", "temporary"]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Backoff:
    """Delay restarts: ``initial`` seconds, times ``factor`` per restart in the window."""

    initial: float = 0.1
    maximum: float = 5.0
    factor: float = 2.0

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
        if self.strategy not in ("one_for_one", "one_for_all", "rest_for_one"):
            raise ValueError(f"unknown strategy: {self.strategy!r}")
        ids = [child.id for child in self.children]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate child ids: {ids}")


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
        if self.size < 1:
            raise ValueError("a pool needs at least one worker")


@dataclass(frozen=True)
class ChildSpec:
    """One child: how to start it, when to restart it, how long to wait for it to stop.

    ``start`` is a ``Worker`` subclass (started with ``args``/``kwargs``), a
    ``SupervisorSpec``, a ``DynamicSupervisorSpec`` or a ``Pool``. ``shutdown`` is in
    seconds; ``None`` waits without limit, the default for supervisors and pools.
    """

    id: str
    start: type | SupervisorSpec | DynamicSupervisorSpec | Pool
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    restart: Restart = "permanent"
    shutdown: float | None = 5.0
    name: str | None = None

    def __post_init__(self) -> None:
        if self.restart not in ("permanent", "transient", "temporary"):
            raise ValueError(f"unknown restart type: {self.restart!r}")
        if self.is_supervisor and self.shutdown == 5.0:
            object.__setattr__(self, "shutdown", None)

    @property
    def is_supervisor(self) -> bool:
        return not isinstance(self.start, type)

    @property
    def kind(self) -> str:
        if isinstance(self.start, Pool):
            return "pool"
        return "supervisor" if self.is_supervisor else "worker"
