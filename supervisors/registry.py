"""Registered names: callers address a name, which resolves to the current incarnation.

A name is declared by the supervisor that owns the child and stays declared while the
child is running or restarting; callers of a name that is between incarnations wait for
the next one. A pool's members all join their pool's name.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pykka import ActorRef

from supervisors.errors import CallTimeout, NoProcess


class _Name:
    __slots__ = ("changed", "refs", "removed")

    def __init__(self) -> None:
        self.refs: tuple[ActorRef[Any], ...] = ()
        self.removed = False
        self.changed = threading.Condition(_lock)


_lock = threading.Lock()
_names: dict[str, _Name] = {}


def declare(name: str) -> None:
    """Reserve ``name`` for a child; raise ``ValueError`` if another child holds it."""
    with _lock:
        if name in _names:
            raise ValueError(f"name already registered: {name!r}")
        _names[name] = _Name()


def undeclare(name: str) -> None:
    """Drop ``name``: its waiting callers get ``NoProcess``."""
    with _lock:
        entry = _names.pop(name, None)
        if entry is not None:
            entry.removed = True
            entry.refs = ()
            entry.changed.notify_all()


def join(name: str, ref: ActorRef[Any]) -> None:
    """Make ``ref`` answer to ``name`` (a pool's name has several members)."""
    with _lock:
        entry = _names.get(name)
        if entry is not None:
            entry.refs = (*entry.refs, ref)
            entry.changed.notify_all()


def leave(name: str, ref: ActorRef[Any]) -> None:
    """Stop routing ``name`` to ``ref``; the name stays declared for the next incarnation."""
    with _lock:
        entry = _names.get(name)
        if entry is not None:
            entry.refs = tuple(r for r in entry.refs if r is not ref)


def is_declared(name: str) -> bool:
    """True while ``name`` belongs to a child, running or between incarnations."""
    return name in _names


def whereis(name: str) -> ActorRef[Any] | None:
    """The current incarnation under ``name`` (the least loaded one for a pool), or None."""
    entry = _names.get(name)
    if entry is None or not entry.refs:
        return None
    return _least_loaded(entry.refs)


def resolve(name: str, deadline: float) -> ActorRef[Any]:
    """Like ``whereis``, but waits until ``deadline`` for a restarting name."""
    entry = _names.get(name)
    if entry is None:
        raise NoProcess(name)
    refs = entry.refs
    if refs:
        return refs[0] if len(refs) == 1 else _least_loaded(refs)
    with _lock:
        while not entry.refs:
            if entry.removed:
                raise NoProcess(name)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CallTimeout(f"{name}: no process within the timeout")
            entry.changed.wait(remaining)
        refs = entry.refs
    return _least_loaded(refs)


def _least_loaded(refs: tuple[ActorRef[Any], ...]) -> ActorRef[Any]:
    return min(refs, key=lambda ref: ref.actor_inbox.load)
