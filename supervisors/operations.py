"""OTP's supervisor API as functions: each is one call to the supervisor."""

from __future__ import annotations

from typing import Any

from pykka import ActorRef

from supervisors.call import DEFAULT_TIMEOUT, call
from supervisors.spec import ChildSpec
from supervisors.supervisor import (
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
    """``[(id, ref | "restarting" | None, "worker" | "supervisor", [class])]``"""
    return call(_ref(sup), WhichChildren(), timeout)


def count_children(sup: Sup, timeout: float = DEFAULT_TIMEOUT) -> dict[str, int]:
    """``{"specs", "active", "supervisors", "workers"}``"""
    return call(_ref(sup), CountChildren(), timeout)


def terminate_child(sup: Sup, child_id: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    call(_ref(sup), TerminateChild(child_id), timeout)


def restart_child(sup: Sup, child_id: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    return call(_ref(sup), RestartChild(child_id), timeout)


def delete_child(sup: Sup, child_id: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    call(_ref(sup), DeleteChild(child_id), timeout)


def start_child(sup: Sup, spec: ChildSpec, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Add and start a child; ``ChildError`` for already_present, max_children, …"""
    return call(_ref(sup), StartChild(spec), timeout)
