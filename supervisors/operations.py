"""OTP's supervisor API as functions: each is one call to the supervisor."""

from __future__ import annotations

from typing import Any

from pykka import ActorRef

from supervisors.call import DEFAULT_TIMEOUT, call
from supervisors.spec import ChildSpec, check_spec
from supervisors.supervisor import (
    ChildKey,
    CountChildren,
    DeleteChild,
    RestartChild,
    StartChild,
    TerminateChild,
    WhichChildren,
)
from supervisors.tree import Tree

Sup = str | ActorRef[Any] | Tree


def _ref(sup: Sup) -> str | ActorRef[Any]:
    return sup.ref if isinstance(sup, Tree) else sup


def which_children(sup: Sup, timeout: float = DEFAULT_TIMEOUT) -> list[tuple[Any, ...]]:
    """``[(id, ref | "restarting" | None, "worker" | "supervisor", [class])]``, newest
    first as in OTP (the reverse of start order)."""
    return call(_ref(sup), WhichChildren(), timeout)


def count_children(sup: Sup, timeout: float = DEFAULT_TIMEOUT) -> dict[str, int]:
    """``{"specs", "active", "supervisors", "workers"}``"""
    return call(_ref(sup), CountChildren(), timeout)


def terminate_child(sup: Sup, child: ChildKey, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Stop a child, by id or by the ref ``start_child`` returned (a dynamic child's handle)."""
    call(_ref(sup), TerminateChild(child), timeout)


def restart_child(sup: Sup, child: ChildKey, timeout: float = DEFAULT_TIMEOUT) -> Any:
    return call(_ref(sup), RestartChild(child), timeout)


def delete_child(sup: Sup, child: ChildKey, timeout: float = DEFAULT_TIMEOUT) -> None:
    call(_ref(sup), DeleteChild(child), timeout)


def start_child(sup: Sup, spec: ChildSpec, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Add and start a child; return its ref. ``ChildError`` for already_present,
    max_children, …; a DynamicSupervisor starts any number of children from one spec."""
    check_spec(spec, ChildSpec, "a ChildSpec")
    return call(_ref(sup), StartChild(spec), timeout)
