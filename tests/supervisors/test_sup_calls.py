"""Calls by name: timeouts, unknown names, calls across restarts, and no call ever hangs,
including in Pykka's ask-versus-stop race."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from pykka import ActorDeadError
from supervision_kit import WAIT, Block, Lab, Probe, in_thread, outcome, wait_event

from supervisors import (
    ActorCrashed,
    Backoff,
    CallTimeout,
    ChildError,
    ChildSpec,
    NoProcess,
    SupervisorSpec,
    VirtualClock,
    call,
    cast,
    crash,
    restart_child,
    terminate_child,
    whereis,
    which_children,
)
from supervisors.worker import Pending, Stopped, Worker

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def single(start, lab, names):
    def _single(restart="permanent", backoff=None):
        return start(
            SupervisorSpec(
                [ChildSpec("w", Probe, kwargs={"lab": lab}, name=names("w"), restart=restart)],
                backoff=backoff,
                max_restarts=10_000,
                clock=VirtualClock(),
            )
        )

    return _single


def test_a_call_with_no_reply_in_time_raises_call_timeout(single, names):
    single()
    block = Block(threading.Event())
    blocked = in_thread(lambda: call(names("w"), block, timeout=20))
    assert block.entered.wait(WAIT)
    try:
        began = time.monotonic()
        with pytest.raises(CallTimeout):
            call(names("w"), "ping", timeout=0.2)
        assert time.monotonic() - began >= 0.2  # it waited its timeout, no less
    finally:
        block.release.set()
    assert outcome(blocked) == ("released", "w")
    assert call(names("w"), ("echo", 1)) == 1  # the actor is fine


def test_an_unknown_name_raises_no_process_at_once(names):
    began = time.monotonic()
    with pytest.raises(NoProcess):
        call(names("nobody"), "ping", timeout=60.0)
    assert time.monotonic() - began < 30.0  # at once, not after waiting its timeout
    with pytest.raises(NoProcess):
        cast(names("nobody"), "ping")
    with pytest.raises(NoProcess):
        crash(names("nobody"))
    assert whereis(names("nobody")) is None


def test_whereis_follows_the_current_incarnation(single, names):
    tree = single()
    first = whereis(names("w"))
    assert first is not None and first.is_alive()
    seq = tree.log.last_seq
    crash(names("w"))
    wait_event(tree.log, "child_restarted", "w", seq)
    second = whereis(names("w"))
    assert second is not None and second.is_alive()
    assert second.actor_urn != first.actor_urn
    assert not first.is_alive()


def test_a_call_to_the_ref_of_a_dead_incarnation_raises(single, names):
    tree = single()
    old = whereis(names("w"))
    seq = tree.log.last_seq
    assert call(names("w"), "stop") == "stopping"
    wait_event(tree.log, "child_restarted", "w", seq)
    with pytest.raises(NoProcess):  # a ref is one incarnation: it is not followed
        call(old, "ping")


def test_a_call_during_a_restart_waits_for_the_new_incarnation(single, names):
    tree = single(backoff=Backoff(initial=1.0))  # a window a loaded CI machine cannot miss
    old = call(names("w"), "ping")
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("w"), ("raise", RuntimeError("x")))
    wait_event(tree.log, "child_crashed", "w", seq)
    assert which_children(tree)[0][1] == "restarting"  # the restart window is open
    assert whereis(names("w")) is None

    reply = call(names("w"), "ping", timeout=5)  # answered, so not left to time out

    assert reply[2] != old[2]
    # The new incarnation answers as soon as it is up; the log entry may follow a moment later.
    wait_event(tree.log, "child_restarted", "w", seq)


def test_a_call_during_a_too_long_restart_times_out_rather_than_no_process(single, names):
    tree = single(backoff=Backoff(initial=30.0))
    seq = tree.log.last_seq
    crash(names("w"))
    wait_event(tree.log, "child_crashed", "w", seq)
    with pytest.raises(CallTimeout):  # a process is coming, just not in time
        call(names("w"), "ping", timeout=0.2)
    # Waiting callers learn at once when the name goes away for good.
    waiting = in_thread(lambda: call(names("w"), "ping", timeout=20))
    terminate_child(tree, "w")
    assert isinstance(outcome(waiting), NoProcess)


@pytest.mark.parametrize("restart", ["permanent", "transient"])
def test_a_call_queued_behind_a_clean_stop_goes_to_the_next_incarnation(single, names, restart):
    tree = single(restart=restart)
    ref = whereis(names("w"))
    old_urn = ref.actor_urn
    block = Block(threading.Event())
    blocked = ref.ask(block, block=False)
    assert block.entered.wait(WAIT)
    ref.stop(block=False)  # queued: the actor will stop cleanly after the block
    queued = ref.actor_inbox.when_puts(ref.actor_inbox.puts + 1)
    caller = in_thread(lambda: call(names("w"), "ping", timeout=10))
    assert queued.wait(WAIT)
    seq = tree.log.last_seq

    block.release.set()

    assert blocked.get(timeout=WAIT) == ("released", "w")
    result = outcome(caller)
    if restart == "permanent":  # the message was never handled: sent again, answered
        assert result[0] == "pong" and result[2] != old_urn
        wait_event(tree.log, "child_restarted", "w", seq)
    else:  # a transient child stopping normally is gone, and so is its name
        assert isinstance(result, NoProcess)


def test_a_supervisor_operation_error_is_a_reply(single, names):
    tree = single()
    with pytest.raises(ChildError) as info:
        restart_child(tree, "w")
    assert info.value.reason == "running"
    with pytest.raises(ChildError) as info:
        restart_child(tree, "nope")
    assert info.value.reason == "not_found"
    assert tree.running and which_children(tree)[0][0] == "w"


def test_asks_racing_a_stop_are_always_answered():
    """Pykka's own race: a message put after the final drain is never answered. With the
    closable inbox every future completes, whatever the interleaving."""
    for _ in range(150):
        ref = Probe.start(Lab())
        go = threading.Barrier(5)

        def ask(ref=ref, go=go):
            go.wait(WAIT)
            return [ref.ask(("echo", i), block=False) for i in range(20)]

        with ThreadPoolExecutor(4) as pool:
            batches = [pool.submit(ask) for _ in range(4)]
            go.wait(WAIT)
            ref.stop(block=False)
            futures = [f for batch in batches for f in batch.result(WAIT)]
        for i, future in enumerate(futures):
            with contextlib.suppress(Stopped, ActorDeadError):  # refused, and told so at once
                assert future.get(timeout=WAIT) == i % 20


def test_calls_to_a_ref_racing_a_stop_all_return():
    """The same race through ``call``: each returns its reply or ``NoProcess``, at once."""
    for _ in range(100):
        ref = Probe.start(Lab())
        go = threading.Barrier(5)

        def calls(ref=ref, go=go) -> list[object]:
            go.wait(WAIT)
            results: list[object] = []
            for i in range(10):
                try:
                    results.append(call(ref, ("echo", i), timeout=WAIT) == i)
                except NoProcess:
                    results.append("NoProcess")
            return results

        with ThreadPoolExecutor(4) as pool:
            batches = [pool.submit(calls) for _ in range(4)]
            go.wait(WAIT)
            ref.stop(block=False)
            results = [r for batch in batches for r in batch.result(WAIT)]
        assert set(results) <= {True, "NoProcess"}


def test_no_call_hangs_while_the_actor_is_stopped_and_restarted_repeatedly(single, names):
    tree = single()
    name = names("w")
    chaos_done = threading.Event()
    step = threading.Condition()  # pulsed after every chaos action
    rng = random.Random(1234)
    actions = {"crash": 0, "stop": 0, "terminate": 0}

    def chaos() -> None:
        try:
            for _ in range(300):
                action = rng.choice(list(actions))
                actions[action] += 1
                if action == "crash":
                    with contextlib.suppress(NoProcess):  # between incarnations
                        crash(name)
                elif action == "stop":
                    ref = whereis(name)
                    if ref is not None:
                        ref.stop(block=False)
                else:
                    terminate_child(tree, "w", timeout=WAIT)
                    restart_child(tree, "w", timeout=WAIT)
                with step:
                    step.notify_all()
                seq = tree.log.last_seq
                if rng.random() < 0.7:  # mostly let the restart land, sometimes not
                    with contextlib.suppress(TimeoutError):
                        tree.log.wait_for(lambda e, seq=seq: e.seq > seq, timeout=0.02)
        finally:
            chaos_done.set()
            with step:
                step.notify_all()

    def caller(k: int) -> list[str]:
        results: list[str] = []
        i = 0
        while not chaos_done.is_set():
            i += 1
            try:  # every call returns: a hang would stop the loop (and the test's timeout)
                value = call(name, ("echo", (k, i)), timeout=2.0)
                assert value == (k, i)
                results.append("ok")
            except (ActorCrashed, NoProcess, CallTimeout) as exc:
                results.append(type(exc).__name__)
            if results[-1] == "NoProcess":  # the name is gone until the next chaos step
                with step:
                    step.wait(0.05)
        return results

    with ThreadPoolExecutor(7) as pool:
        callers = [pool.submit(caller, k) for k in range(6)]
        chaos_future = pool.submit(chaos)
        chaos_future.result(timeout=40)  # raises whatever went wrong in it
        outcomes = [r for f in callers for r in f.result(timeout=WAIT)]

    assert set(outcomes) <= {"ok", "ActorCrashed", "NoProcess", "CallTimeout"}
    assert outcomes.count("ok") > 100
    assert outcomes.count("ActorCrashed") > 0  # the race really was exercised
    assert actions["terminate"] > 0 and actions["stop"] > 0
    # And afterwards the child is whole again.
    try:
        restart_child(tree, "w")
    except ChildError as exc:
        assert exc.reason == "running"
    assert call(name, ("echo", "end"), timeout=WAIT) == "end"


class _Parking(Worker):
    """Defers each "park" call until a "release" call answers it."""

    def __init__(self, parked: threading.Event) -> None:
        super().__init__()
        self._parked_event = parked
        self.parked: list[Pending] = []

    def handle(self, message: object) -> object:
        if message == "park":
            self.parked.append(self.defer())
            self._parked_event.set()
            return "never seen"
        if message == "release":
            for pending in self.parked:
                pending.reply("answered later")
            return len(self.parked)
        return super().handle(message)


def test_a_deferred_call_is_answered_later_by_its_holder(start, names):
    parked = threading.Event()
    start(SupervisorSpec([ChildSpec("w", _Parking, kwargs={"parked": parked}, name=names("w"))]))
    first = in_thread(lambda: call(names("w"), "park", WAIT))
    assert parked.wait(WAIT)
    assert not first.done()  # handled, not answered
    assert call(names("w"), "release", WAIT) == 1  # the actor went on to the next message
    assert outcome(first) == "answered later"
