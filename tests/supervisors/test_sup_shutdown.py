"""Point 5: shutdown in reverse order, per-child timeouts, stuck children abandoned, no
restart racing with the shutdown, and a process that can exit afterwards."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from supervision_kit import WAIT, Block, Probe, in_thread, kinds, outcome, wait_event

from supervisors import (
    ActorCrashed,
    Backoff,
    ChildSpec,
    NoProcess,
    Pool,
    SupervisorSpec,
    call,
    whereis,
)
from supervisors.errors import Killed

pytestmark = pytest.mark.timeout(30)


def test_children_stop_in_reverse_start_order_across_the_tree(start, lab, names):
    spec = SupervisorSpec(
        [
            ChildSpec("a", Probe, kwargs={"lab": lab}),
            ChildSpec(
                "sub",
                SupervisorSpec(
                    [
                        ChildSpec("x", Probe, kwargs={"lab": lab}),
                        ChildSpec("y", Probe, kwargs={"lab": lab}),
                    ]
                ),
            ),
            ChildSpec("b", Probe, kwargs={"lab": lab}, name=names("b")),
        ]
    )
    tree = start(spec)
    assert lab.entries == [("init", c) for c in ("a", "x", "y", "b")]
    mark, seq = lab.mark(), tree.log.last_seq

    assert tree.stop() == "shutdown"

    assert lab.since(mark) == [("terminate", c) for c in ("b", "y", "x", "a")]
    assert [(e.supervisor, e.kind, e.child) for e in tree.log.since(seq)] == [
        ("root", "shutdown", None),
        ("root", "child_terminated", "b"),
        ("root/sub", "shutdown", None),
        ("root/sub", "child_terminated", "y"),
        ("root/sub", "child_terminated", "x"),
        ("root", "child_terminated", "sub"),
        ("root", "child_terminated", "a"),
    ]
    assert not tree.running
    with pytest.raises(NoProcess):
        call(names("b"), "ping")
    statuses = [c["status"] for c in tree.tree()["children"]]
    assert statuses == ["stopped", "stopped", "stopped"]


def test_a_stuck_child_is_abandoned_after_its_shutdown_time_and_the_shutdown_goes_on(
    start, lab, names
):
    spec = SupervisorSpec(
        [
            ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a")),
            ChildSpec("stuck", Probe, kwargs={"lab": lab}, name=names("stuck"), shutdown=0.3),
            ChildSpec("c", Probe, kwargs={"lab": lab}, name=names("c")),
        ]
    )
    tree = start(spec)
    stuck_ref = whereis(names("stuck"))
    block = Block(threading.Event())
    in_handler = in_thread(lambda: call(names("stuck"), block, timeout=20))
    assert block.entered.wait(WAIT)
    queued = stuck_ref.ask(("echo", "never"), block=False)
    stuck_thread = lab.threads[1]
    mark, seq = lab.mark(), tree.log.last_seq

    began = time.monotonic()
    assert tree.stop() == "shutdown"
    took = time.monotonic() - began

    assert took >= 0.3  # waited its shutdown time; the events below show it went on
    assert lab.since(mark) == [("terminate", "c"), ("terminate", "a")]
    assert kinds(tree.log, seq) == [
        ("shutdown", None),
        ("child_terminated", "c"),
        ("child_stuck", "stuck"),
        ("child_terminated", "a"),
    ]
    stuck_event = next(e for e in tree.log.since(seq) if e.kind == "child_stuck")
    assert stuck_event.reason == "did not stop in time"
    node = {c["id"]: c for c in tree.tree()["children"]}["stuck"]
    assert node["status"] == "stuck"
    # Whoever waited behind the stuck child is told at once, not left hanging.
    with pytest.raises(ActorCrashed) as info:
        queued.get(timeout=WAIT)
    assert isinstance(info.value.__cause__, Killed)
    with pytest.raises(NoProcess):
        call(names("stuck"), "ping")

    # Once its handler returns, the abandoned thread ends by itself.
    block.release.set()
    assert outcome(in_handler) == ("released", "stuck")
    stuck_thread.join(WAIT)
    assert not stuck_thread.is_alive()
    assert ("terminate", "stuck") not in lab.entries  # abandoned: no cleanup ran


def test_a_child_stuck_in_terminate_is_abandoned_too(start, lab, names):
    release = threading.Event()
    lab.on_terminate["slow"] = lambda: release.wait(20)
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("a", Probe, kwargs={"lab": lab}),
                ChildSpec("slow", Probe, kwargs={"lab": lab}, shutdown=0.2),
            ]
        )
    )
    seq = tree.log.last_seq
    try:
        assert tree.stop() == "shutdown"
        assert kinds(tree.log, seq) == [
            ("shutdown", None),
            ("child_stuck", "slow"),
            ("child_terminated", "a"),
        ]
    finally:
        release.set()


def test_a_supervisor_child_waits_for_its_whole_subtree_by_default(start, lab):
    release, order = threading.Event(), []

    def slow_terminate() -> None:
        release.wait(20)
        order.append("x terminated")

    lab.on_terminate["x"] = slow_terminate
    tree = start(
        SupervisorSpec(
            [
                ChildSpec(
                    "sub",
                    SupervisorSpec([ChildSpec("x", Probe, kwargs={"lab": lab}, shutdown=None)]),
                ),
            ]
        )
    )
    # OTP's default for a supervisor child is infinity: no deadline cuts its subtree short.
    assert {c["id"]: c["shutdown"] for c in tree.tree()["children"]} == {"sub": None}
    stopping = in_thread(lambda: (tree.stop(), order.append("stop returned"))[0])
    assert wait_event(tree.log, "shutdown", None, supervisor="root/sub")
    release.set()  # x is in its terminate; the stop returns only once that is done
    assert outcome(stopping) == "shutdown"
    assert order == ["x terminated", "stop returned"]
    assert not [e for e in tree.log.since() if e.kind == "child_stuck"]


def test_no_child_is_restarted_while_its_supervisor_shuts_down(start, lab, names):
    """b's cleanup crashes a while the supervisor is stopping its children: a's exit
    notice must not turn into a restart."""

    def crash_a() -> None:
        with pytest.raises(ActorCrashed):
            call(names("a"), ("raise", RuntimeError("crash during shutdown")))

    lab.on_terminate["b"] = crash_a
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a")),
                ChildSpec("b", Probe, kwargs={"lab": lab}, name=names("b")),
            ],
            max_restarts=100,
        )
    )
    seq = tree.log.last_seq

    assert tree.stop() == "shutdown"

    assert kinds(tree.log, seq) == [
        ("shutdown", None),
        ("child_terminated", "b"),
        ("child_terminated", "a"),
    ]
    terminated_a = next(e for e in tree.log.since(seq) if e.child == "a")
    assert "crash during shutdown" in terminated_a.reason
    assert lab.inits == {"a": 1, "b": 1}


def test_a_pending_delayed_restart_is_cancelled_by_the_shutdown(start, lab, names):
    tree = start(
        SupervisorSpec(
            [ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a"))],
            backoff=Backoff(initial=1.0),  # stop() must land inside it, even on a loaded machine
            max_restarts=100,
        )
    )
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("a"), ("raise", RuntimeError("x")))
    wait_event(tree.log, "child_crashed", "a", seq)
    lab.started.pop("a")  # watch for a second start

    timers = list(tree.root._timers)
    assert tree.stop() == "shutdown"

    # The delayed restart was due 1 s after the crash; it must never come. Once every
    # backoff timer has ended (cancelled: at once) nothing is left that could start it.
    for timer in timers:
        timer.join(WAIT)
        assert not timer.is_alive()
    assert not lab.started_event("a").is_set()
    assert lab.inits == {"a": 1}
    assert ("child_restarted", "a") not in kinds(tree.log, seq)
    assert tree.tree()["children"][0]["status"] == "stopped"  # not "restarting"


def test_callers_waiting_for_a_restarting_name_get_no_process_at_shutdown(start, lab, names):
    tree = start(
        SupervisorSpec(
            [ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a"))],
            backoff=Backoff(initial=10.0),
            max_restarts=100,
        )
    )
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("a"), ("raise", RuntimeError("x")))
    wait_event(tree.log, "child_crashed", "a", seq)
    waiting = in_thread(lambda: call(names("a"), "ping", timeout=20))

    assert tree.stop() == "shutdown"
    assert isinstance(outcome(waiting), NoProcess)  # told at the stop, not after 20 s


def test_after_stop_every_actor_thread_has_ended(start, lab, names):
    before = set(threading.enumerate())
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("a", Probe, kwargs={"lab": lab}),
                ChildSpec("pool", Pool(Probe, 3, kwargs={"lab": lab}), name=names("pool")),
                ChildSpec("sub", SupervisorSpec([ChildSpec("x", Probe, kwargs={"lab": lab})])),
            ],
            backoff=Backoff(initial=0.05),
        )
    )
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("pool"), ("raise", RuntimeError("x")))
    wait_event(tree.log, "child_restarted", after=seq)
    started = [t for t in threading.enumerate() if t not in before]
    assert len(started) >= 6  # root, a, pool, 3 members, sub, x (+ timers)

    tree.stop()

    for thread in started:
        thread.join(WAIT)
    assert not [t for t in started if t.is_alive()]
    assert not [t for t in threading.enumerate() if t not in before and not t.daemon]


SCRIPT = textwrap.dedent(
    """
    import sys, threading
    sys.path.insert(0, {kit!r})
    from supervision_kit import Block, Probe
    from supervisors import ChildSpec, SupervisorSpec, VirtualClock, cast, start_tree

    block = Block(threading.Event())
    spec = SupervisorSpec(
        [ChildSpec("a", Probe, name="a"), ChildSpec("stuck", Probe, name="stuck", shutdown=0.2)],
        max_restarts=0,
        clock=VirtualClock(),
    )
    tree = start_tree(spec)
    cast("stuck", block)
    assert block.entered.wait(5)
    if sys.argv[1] == "stop":
        tree.stop()
        print("stopped", tree.tree()["children"][1]["status"], flush=True)
        sys.exit(0)
    # The root gives up: the process sees it and exits non-zero.
    cast("a", ("raise", RuntimeError("a failed")))
    reason = tree.wait(10)
    print("gave up", type(reason).__name__, tree.running, flush=True)
    sys.exit(3)
    """
)


@pytest.mark.parametrize("mode", ["stop", "give_up"])
def test_the_process_can_exit_after_the_tree_stops_even_with_a_stuck_child(tmp_path, mode):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT.format(kit=str(Path(__file__).parent)))

    done = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, timeout=20
    )

    if mode == "stop":
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "stopped stuck"
    else:
        assert done.returncode == 3, done.stderr
        assert done.stdout.strip() == "gave up Shutdown False"


def test_a_sibling_stuck_during_a_group_restart_is_abandoned_and_replaced(start, lab, names):
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a")),
                ChildSpec("stuck", Probe, kwargs={"lab": lab}, name=names("stuck"), shutdown=0.2),
            ],
            strategy="one_for_all",
            max_restarts=10,
        )
    )
    old = whereis(names("stuck"))
    block = Block(threading.Event())
    in_handler = old.ask(block, block=False)
    assert block.entered.wait(WAIT)
    queued = old.ask("ping", block=False)
    seq = tree.log.last_seq
    try:
        with pytest.raises(ActorCrashed):
            call(names("a"), ("raise", RuntimeError("a failed")))
        wait_event(tree.log, "child_restarted", "stuck", seq)
        assert kinds(tree.log, seq) == [
            ("child_crashed", "a"),
            ("child_stuck", "stuck"),
            ("child_restarted", "a"),
            ("child_restarted", "stuck"),
        ]
        with pytest.raises(ActorCrashed) as info:
            queued.get(timeout=WAIT)
        assert isinstance(info.value.__cause__, Killed)
        new = call(names("stuck"), "ping")  # the name now leads to the new incarnation
        assert new[2] != old.actor_urn
        assert tree.tree()["children"][1]["status"] == "running"
    finally:
        block.release.set()
    assert in_handler.get(timeout=WAIT) == ("released", "stuck")
    assert call(names("stuck"), "ping") == new  # the old one finishing changes nothing
