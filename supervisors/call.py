"""Calls by name that never hang: OTP's ``gen_server:call`` on Pykka actors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pykka import ActorDeadError, ActorRef
from pykka._envelope import Envelope

from supervisors import registry
from supervisors.errors import CallTimeout, NoProcess
from supervisors.reply import Reply
from supervisors.worker import Crash, Stopped, post

Target = str | ActorRef[Any]

DEFAULT_TIMEOUT = 5.0

# fn(name, kind, outcome, seconds) after each message to a name: kind "call" or "cast";
# outcome "ok", or the exception's class name. Set by the host (its metrics).
CallObserver = Callable[[str, str, str, float], None]
_observers: list[CallObserver] = []


def observe_calls(observer: CallObserver) -> None:
    """Have ``observer`` told about every call and cast by name (idempotent)."""
    if observer not in _observers:
        _observers.append(observer)


def _observed(name: str, kind: str, outcome: str, started: float) -> None:
    seconds = time.monotonic() - started
    for observer in _observers:
        observer(name, kind, outcome, seconds)


def call(target: Target, message: object, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Send ``message`` to a name (or a ref) and return the reply.

    Raises ``CallTimeout``, ``NoProcess``, ``ActorCrashed`` or the handler's ``Rejected``.
    A message that was never handled because its actor stopped cleanly is sent again to
    the next incarnation, within the same deadline.
    """
    if not _observers or type(target) is not str:
        return _call(target, message, timeout)
    started, outcome = time.monotonic(), "ok"
    try:
        return _call(target, message, timeout)
    except Exception as exc:
        outcome = type(exc).__name__
        raise
    finally:
        _observed(target, "call", outcome, started)


def _call(target: Target, message: object, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        ref = registry.resolve(target, deadline) if type(target) is str else target
        reply = Reply()
        # Straight into the inbox: a closed inbox answers at once, so no is_alive() race.
        ref.actor_inbox.put(Envelope(message, reply))
        if not reply.wait(deadline - time.monotonic()):
            raise CallTimeout(f"{_label(target)}: no reply within {timeout} s")
        try:
            return reply.result()
        except (ActorDeadError, Stopped):
            if type(target) is not str:
                raise NoProcess(_label(target)) from None


def cast(target: Target, message: object) -> None:
    """Send ``message`` without waiting. An unknown name raises ``NoProcess``; a name
    between incarnations drops it, as a message to a dead pid is dropped in OTP."""
    if type(target) is str:
        if _observers:
            _observed(target, "cast", "ok", time.monotonic())
        ref = registry.whereis(target)
        if ref is None:
            if not registry.is_declared(target):
                raise NoProcess(target)
            return
    else:
        ref = target
    post(ref, message)


def crash(target: Target, reason: str = "crash requested") -> None:
    """Make the actor under ``target`` fail through its real failure path."""
    cast(target, Crash(reason))


def _label(target: Target) -> str:
    return target if type(target) is str else str(target)
