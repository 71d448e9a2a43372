"""Monitors, links and exit signals for user code, with OTP's semantics (``erlang:monitor/2``,
``link/1``, ``exit/2``, ``process_flag(trap_exit, true)``)."""

from __future__ import annotations

import queue
import threading

import pytest
from supervision_kit import WAIT, Block, Probe, in_thread, outcome, wait_event

from supervisors import (
    ActorCrashed,
    ChildSpec,
    Down,
    Exit,
    NoProcess,
    SupervisorSpec,
    VirtualClock,
    call,
    demonitor,
    exit,
    link,
    monitor,
    restart_child,
    terminate_child,
    whereis,
    which_children,
)

pytestmark = pytest.mark.timeout(30)


class Watcher(Probe):
    """A Probe that can monitor and link, and puts every Down and Exit it gets in ``seen``."""

    def __init__(self, lab=None, seen=None, trap=False) -> None:
        super().__init__(lab)
        self.seen = seen
        self.trap_exit = trap

    def handle(self, message: object) -> object:
        match message:
            case Down() | Exit():
                self.seen.put(message)
                return None
            case ("monitor", target):
                return monitor(target)
            case ("demonitor", ref):
                return demonitor(ref)
            case ("link", target):
                return link(target)
        return super().handle(message)


@pytest.fixture
def pair(start, lab, names):
    """``watcher`` and ``target`` under one_for_one; returns (tree, seen, name)."""
    seen: queue.Queue = queue.Queue()

    def _pair(trap: bool = False):
        tree = start(
            SupervisorSpec(
                [
                    ChildSpec(
                        "watcher",
                        Watcher,
                        kwargs={"lab": lab, "seen": seen, "trap": trap},
                        name=names("watcher"),
                    ),
                    ChildSpec("target", Probe, kwargs={"lab": lab}, name=names("target")),
                ],
                max_restarts=10,
                clock=VirtualClock(),
            )
        )
        return tree, seen

    return _pair


def test_a_monitor_gets_down_with_the_exception_as_reason(pair, names):
    _tree, seen = pair()
    ref = call(names("watcher"), ("monitor", names("target")))
    error = RuntimeError("target failed")
    with pytest.raises(ActorCrashed):
        call(names("target"), ("raise", error))

    down = seen.get(timeout=WAIT)
    assert down == Down(ref, error)
    assert down.reason is error


def test_monitoring_a_process_that_is_gone_gives_noproc_at_once(pair, names):
    _tree, seen = pair()
    ref = call(names("watcher"), ("monitor", names("nobody")))
    assert seen.get(timeout=WAIT) == Down(ref, "noproc")


def test_a_terminated_child_is_down_with_shutdown(pair, names):
    tree, seen = pair()
    ref = call(names("watcher"), ("monitor", names("target")))
    terminate_child(tree, "target")
    assert seen.get(timeout=WAIT) == Down(ref, "shutdown")


def test_after_demonitor_no_down_arrives(pair, names):
    tree, seen = pair()
    ref = call(names("watcher"), ("monitor", names("target")))
    call(names("watcher"), ("demonitor", ref))
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("target"), ("raise", RuntimeError("x")))
    wait_event(tree.log, "child_restarted", "target", seq)
    call(names("watcher"), "ping")  # a Down would have been queued before this
    assert seen.empty()


def test_exit_shutdown_stops_a_worker_through_terminate(pair, lab, names):
    tree, seen = pair()
    ref = call(names("watcher"), ("monitor", names("target")))
    seq, mark = tree.log.last_seq, lab.mark()

    exit(names("target"), "shutdown")

    assert seen.get(timeout=WAIT) == Down(ref, "shutdown")
    terminated = wait_event(tree.log, "child_terminated", "target", seq)
    assert terminated.reason == "shutdown"
    wait_event(tree.log, "child_restarted", "target", seq)  # permanent: back again
    assert lab.since(mark) == [("terminate", "target"), ("init", "target")]


def test_exit_kill_abandons_a_busy_worker_and_answers_its_callers_at_once(pair, lab, names):
    tree, seen = pair()
    ref = call(names("watcher"), ("monitor", names("target")))
    target = whereis(names("target"))
    block = Block(threading.Event())
    busy = in_thread(lambda: call(target, block, timeout=20))
    assert block.entered.wait(WAIT)
    queued = in_thread(lambda: call(target, "ping", timeout=20))
    target.actor_inbox.when_puts(2).wait(WAIT)
    seq, mark = tree.log.last_seq, lab.mark()

    exit(target, "kill")

    failed = outcome(queued)
    assert isinstance(failed, ActorCrashed) and failed.reason == "killed"
    assert seen.get(timeout=WAIT) == Down(ref, "killed")
    crashed = wait_event(tree.log, "child_crashed", "target", seq)
    assert crashed.reason == "killed"
    wait_event(tree.log, "child_restarted", "target", seq)
    assert ("terminate", "target") not in lab.since(mark)  # killed: no cleanup
    block.release.set()
    # The running handler finished in its thread and its caller got what it returned.
    assert outcome(busy) == ("released", "target")


@pytest.mark.parametrize("reason", ["normal", "shutdown"])
def test_exit_signals_reach_a_worker_that_traps_exits_as_messages(pair, names, reason):
    _tree, seen = pair(trap=True)
    before = call(names("watcher"), "ping")
    exit(names("watcher"), reason)
    assert seen.get(timeout=WAIT) == Exit(None, reason)
    assert call(names("watcher"), "ping") == before


def test_exit_normal_is_ignored_by_a_worker_that_does_not_trap(pair, names):
    pair()
    before = call(names("target"), "ping")
    exit(names("target"), "normal")
    assert call(names("target"), "ping") == before


@pytest.mark.parametrize("trap", [False, True])
def test_a_linked_crash_takes_the_other_down_unless_it_traps_exits(pair, names, trap):
    tree, seen = pair(trap)
    target = whereis(names("target"))
    watcher_before = call(names("watcher"), "ping")
    call(names("watcher"), ("link", names("target")))
    seq = tree.log.last_seq
    error = RuntimeError("target failed")

    with pytest.raises(ActorCrashed):
        call(names("target"), ("raise", error))

    if trap:
        assert seen.get(timeout=WAIT) == Exit(target, error)
        wait_event(tree.log, "child_restarted", "target", seq)
        assert call(names("watcher"), "ping") == watcher_before
    else:
        crashed = wait_event(tree.log, "child_crashed", "watcher", seq)
        assert crashed.reason == repr(error)  # it exits with the linked actor's reason
        wait_event(tree.log, "child_restarted", "watcher", seq)
        assert call(names("watcher"), "ping") != watcher_before


def test_a_linked_normal_exit_does_not_propagate(pair, names):
    tree, _seen = pair()
    before = call(names("watcher"), "ping")
    call(names("watcher"), ("link", names("target")))
    seq = tree.log.last_seq
    assert call(names("target"), "stop") == "stopping"
    wait_event(tree.log, "child_restarted", "target", seq)
    assert call(names("watcher"), "ping") == before


def test_linking_to_no_process_raises_no_process(pair, names):
    pair()
    with pytest.raises(ActorCrashed) as info:  # raised in the linking actor: OTP's noproc
        call(names("watcher"), ("link", names("nobody")))
    assert isinstance(info.value.__cause__, NoProcess)


def test_linking_to_no_process_while_trapping_exits_gives_an_exit_noproc_message(pair, names):
    _tree, seen = pair(trap=True)
    before = call(names("watcher"), "ping")
    assert call(names("watcher"), ("link", names("nobody"))) is None
    assert seen.get(timeout=WAIT) == Exit(None, "noproc")
    assert call(names("watcher"), "ping") == before  # it lives on


def test_monitor_outside_an_actor_needs_me():
    with pytest.raises(RuntimeError, match="me="):
        monitor("anything")


@pytest.mark.parametrize("how", ["exit_kill", "brutal_kill"])
def test_a_killed_supervisor_takes_its_children_down_and_frees_their_names(start, lab, names, how):
    inner = SupervisorSpec([ChildSpec("w", Probe, kwargs={"lab": lab}, name=names("w"))])
    shutdown = "brutal_kill" if how == "brutal_kill" else None
    tree = start(
        SupervisorSpec(
            [ChildSpec("inner", inner, shutdown=shutdown)], max_restarts=10, clock=VirtualClock()
        )
    )
    old = whereis(names("w"))
    seq, mark = tree.log.last_seq, lab.mark()

    if how == "exit_kill":
        exit(which_children(tree)[0][1], "kill")
        assert wait_event(tree.log, "child_crashed", "inner", seq).reason == "killed"
        wait_event(tree.log, "child_restarted", "inner", seq)
    else:
        terminate_child(tree, "inner")
        restart_child(tree, "inner")

    # OTP: the links take the children down with their supervisor. Its exit signal is
    # ahead of this call, so the old child has exited by the time the call is handled.
    with pytest.raises(ActorCrashed) as info:
        call(old, "ping")
    assert info.value.reason == "killed"
    assert ("terminate", "w") in lab.since(mark)
    assert tree.running
    assert call(names("w"), "ping")[2] != old.actor_urn  # the next incarnation, by name
