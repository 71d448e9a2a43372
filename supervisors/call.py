"""Calls by name that never hang: OTP's ``gen_server:call`` on Pykka actors."""

from __future__ import annotations

import time
from typing import Any

from pykka import ActorDeadError, ActorRef
from pykka._envelope import Envelope

from supervisors import registry
from supervisors.errors import CallTimeout, NoProcess
from supervisors.reply import Reply
from supervisors.worker import Crash, Stopped, post

Target = str | ActorRef[Any]

DEFAULT_TIMEOUT = 5.0


def call(target: Target, message: object, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Send ``message`` to a name (or a ref) and return the reply.

    Raises ``CallTimeout``, ``NoProcess``, ``ActorCrashed`` or the handler's ``Rejected``.
    A message that was never handled because its actor stopped cleanly is sent again to
    the next incarnation, within the same deadline.
    """
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
