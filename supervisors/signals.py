"""Monitors, links and exit signals for user code: OTP's ``monitor``, ``link`` and ``exit``.

Each acts for the calling actor (found from its thread) unless ``me`` is given. A name is
resolved once, to its current incarnation: a restarted child is a new process, as in OTP.
Exit reasons are values: ``"normal"``, ``"shutdown"``, ``"killed"``, ``"noproc"``, or the
exception that crashed the actor.
"""

from __future__ import annotations

from typing import Any

from pykka import ActorRef

from supervisors import registry
from supervisors.errors import NoProcess
from supervisors.worker import (
    Down,
    Exit,
    MonitorRef,
    Worker,
    current,
    post,
    tie,
    untie,
    unwatch,
    watch,
)

Target = str | ActorRef[Any]


def monitor(target: Target, me: Worker | None = None) -> MonitorRef:
    """Watch ``target``: ``Down(ref, reason)`` reaches the watcher's ``handle`` when it
    exits, at once with reason ``"noproc"`` if there is no such process."""
    watcher = _me(me)
    actor = _actor(target)
    ref = MonitorRef(target, actor)
    if actor is None or not watch(actor, ref, watcher):
        post(watcher, Down(ref, "noproc"))
    return ref


def demonitor(ref: MonitorRef) -> None:
    """Stop watching. A ``Down`` already sent is not taken back."""
    if ref.actor is not None:
        unwatch(ref.actor, ref)


def link(target: Target, me: Worker | None = None) -> None:
    """Tie the caller's exit and ``target``'s both ways (see ``Worker.signal_exit`` for
    what a linked exit does). If ``target`` has no process, as OTP's ``link``: a caller
    that traps exits gets ``Exit(ref, "noproc")``, any other raises ``NoProcess``."""
    linker = _me(me)
    actor = _actor(target)
    if actor is not None and tie(linker, actor):
        return
    if not linker.trap_exit:
        raise NoProcess(str(target))
    sender = actor.actor_ref if actor is not None else None if isinstance(target, str) else target
    post(linker, Exit(sender, "noproc"))


def unlink(target: Target, me: Worker | None = None) -> None:
    actor = _actor(target)
    if actor is not None:
        untie(_me(me), actor)


def exit(target: Target, reason: object) -> None:
    """Send ``target`` an exit signal, as OTP's ``exit/2``: ``"kill"`` abandons it at once
    (reason ``"killed"``); ``"shutdown"`` or another reason stops it through ``terminate``
    after its current message, unless it traps exits (it then gets an ``Exit`` message);
    ``"normal"`` is ignored unless it traps exits. No process: nothing happens."""
    actor = _actor(target)
    if actor is not None:
        sender = current()
        actor.signal_exit(None if sender is None else sender.actor_ref, reason)


def _actor(target: Target) -> Worker | None:
    ref = registry.whereis(target) if isinstance(target, str) else target
    if ref is None:
        return None
    actor = ref._actor_weakref()  # a Pykka 4 internal, as the inbox's envelope is
    if actor is None:
        return None
    if not isinstance(actor, Worker):
        raise TypeError(f"not a supervisors.Worker: {ref}")
    return actor


def _me(me: Worker | None) -> Worker:
    actor = me if me is not None else current()
    if actor is None:
        raise RuntimeError("call from an actor's thread, or pass me=")
    return actor
