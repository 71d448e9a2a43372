"""Point 4: restart intensity, escalation up the tree, and the root giving up.

Every window is driven by a ``VirtualClock``: nothing here sleeps.
"""

from __future__ import annotations

import pytest
from supervision_kit import WAIT, Probe, kinds, wait_event

from supervisors import (
    ActorCrashed,
    ChildSpec,
    NoProcess,
    Shutdown,
    SupervisorSpec,
    VirtualClock,
    call,
    which_children,
)

pytestmark = pytest.mark.timeout(30)


def crash(tree, name: str, child: str, restarted: bool = True) -> None:
    """Crash the child under ``name`` and wait until its supervisor has decided."""
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(name, ("raise", RuntimeError(f"{child} failed")))
    if restarted:
        wait_event(tree.log, "child_restarted", child, seq)


def flat(lab, names, clock, max_restarts=2, max_seconds=10.0, ids=("a", "b", "c")):
    return SupervisorSpec(
        [ChildSpec(c, Probe, kwargs={"lab": lab}, name=names(c)) for c in ids],
        max_restarts=max_restarts,
        max_seconds=max_seconds,
        clock=clock,
    )


def test_one_restart_more_than_max_restarts_in_the_window_gives_up(start, lab, names):
    clock = VirtualClock()
    tree = start(flat(lab, names, clock, max_restarts=2, max_seconds=10.0))
    crash(tree, names("b"), "b")
    clock.advance(4)
    crash(tree, names("b"), "b")
    clock.advance(4)  # still inside the 10 s window: a third restart is one too many
    mark, seq = lab.mark(), tree.log.last_seq

    crash(tree, names("b"), "b", restarted=False)

    reason = tree.wait(WAIT)
    assert isinstance(reason, Shutdown)
    assert "reached_max_restart_intensity" in str(reason)
    assert not tree.running
    # The crashed child went first (its own exit), then the others in reverse order.
    assert lab.since(mark) == [("terminate", "b"), ("terminate", "c"), ("terminate", "a")]
    assert kinds(tree.log, seq) == [
        ("child_crashed", "b"),
        ("gave_up", None),
        ("shutdown", None),
        ("child_terminated", "c"),
        ("child_terminated", "a"),
    ]
    gave_up = next(e for e in tree.log.since(seq) if e.kind == "gave_up")
    assert gave_up.reason == "reached_max_restart_intensity"
    view = tree.tree()
    assert view["status"] == "stopped"
    # No child of a supervisor that gave up is shown as running (b crashed last).
    assert [c["status"] for c in view["children"]] == ["stopped"] * 3
    for cid in "abc":
        with pytest.raises(NoProcess):
            call(names(cid), "ping")


def test_restarts_spread_over_more_than_max_seconds_are_tolerated(start, lab, names):
    clock = VirtualClock()
    tree = start(flat(lab, names, clock, max_restarts=2, max_seconds=10.0))
    for _ in range(3):
        crash(tree, names("a"), "a")
        crash(tree, names("b"), "b")
        clock.advance(10.5)  # the window moves past both restarts

    assert tree.running
    view = tree.tree()
    assert view["restarts"] == {"window": 0, "total": 6}
    a = view["children"][0]
    assert a["restarts"] == {"window": 0, "total": 3}
    crash(tree, names("a"), "a")
    assert tree.tree()["children"][0]["restarts"] == {"window": 1, "total": 4}


def test_the_window_counts_restarts_of_all_children_together(start, lab, names):
    clock = VirtualClock()
    tree = start(flat(lab, names, clock, max_restarts=2, max_seconds=10.0))
    crash(tree, names("a"), "a")
    crash(tree, names("b"), "b")
    crash(tree, names("c"), "c", restarted=False)
    assert isinstance(tree.wait(WAIT), Shutdown)


def test_max_restarts_zero_gives_up_on_the_first_crash(start, lab, names):
    tree = start(flat(lab, names, VirtualClock(), max_restarts=0))
    crash(tree, names("a"), "a", restarted=False)
    assert isinstance(tree.wait(WAIT), Shutdown)
    assert lab.inits == {"a": 1, "b": 1, "c": 1}


def test_a_failed_restart_attempt_counts_against_the_intensity(start, lab, names):
    clock = VirtualClock()
    tree = start(flat(lab, names, clock, max_restarts=3))
    lab.fail_init["b"] = -1  # from now on b cannot start
    seq = tree.log.last_seq

    crash(tree, names("b"), "b", restarted=False)

    assert isinstance(tree.wait(WAIT), Shutdown)
    # 1 crash + 3 failed restart attempts = 4 restarts counted > 3: gave up.
    assert kinds(tree.log, seq)[:5] == [("child_crashed", "b")] * 4 + [("gave_up", None)]
    assert lab.inits["b"] == 1 + 3
    assert ("child_restarted", "b") not in kinds(tree.log, seq)


def nested(lab, names, clock, root_max=10, sub_max=1):
    sub = SupervisorSpec(
        [ChildSpec(c, Probe, kwargs={"lab": lab}, name=names(c)) for c in ("x", "y")],
        max_restarts=sub_max,
        max_seconds=10.0,
        clock=clock,
    )
    return SupervisorSpec(
        [
            ChildSpec("s", Probe, kwargs={"lab": lab}, name=names("s")),
            ChildSpec("sub", sub),
            ChildSpec("t", Probe, kwargs={"lab": lab}, name=names("t")),
        ],
        max_restarts=root_max,
        max_seconds=10.0,
        clock=clock,
    )


def test_a_supervisor_giving_up_escalates_to_its_parent(start, lab, names):
    clock = VirtualClock()
    tree = start(nested(lab, names, clock, root_max=10, sub_max=1))
    s_before, t_before = call(names("s"), "ping"), call(names("t"), "ping")
    crash(tree, names("x"), "x")
    mark, seq = lab.mark(), tree.log.last_seq

    crash(tree, names("x"), "x", restarted=False)
    wait_event(tree.log, "child_restarted", "sub", seq, supervisor="root")

    events = [(e.supervisor, e.kind, e.child) for e in tree.log.since(seq)]
    assert events == [
        ("root/sub", "child_crashed", "x"),
        ("root/sub", "gave_up", None),
        ("root/sub", "shutdown", None),
        ("root/sub", "child_terminated", "y"),
        ("root", "escalated", "sub"),
        ("root/sub", "child_started", "x"),
        ("root/sub", "child_started", "y"),
        ("root", "child_restarted", "sub"),
    ]
    escalated = next(e for e in tree.log.since(seq) if e.kind == "escalated")
    assert "reached_max_restart_intensity" in escalated.reason
    assert lab.since(mark) == [
        ("terminate", "x"),
        ("terminate", "y"),
        ("init", "x"),
        ("init", "y"),
    ]
    # The parent's strategy is one_for_one: the siblings of the sub-supervisor are untouched.
    assert call(names("s"), "ping") == s_before
    assert call(names("t"), "ping") == t_before
    view = tree.tree()
    assert view["restarts"]["total"] == 1
    sub = view["children"][1]
    assert sub["kind"] == "supervisor"
    # A supervisor node shows its own intensity: the new sub-supervisor starts afresh.
    assert sub["restarts"] == {"window": 0, "total": 0}
    assert all(c["restarts"]["total"] == 0 for c in sub["children"])
    assert tree.running


def test_escalation_to_a_root_that_gives_up_stops_the_application(start, lab, names):
    clock = VirtualClock()
    tree = start(nested(lab, names, clock, root_max=0, sub_max=0))
    mark, seq = lab.mark(), tree.log.last_seq

    crash(tree, names("y"), "y", restarted=False)

    reason = tree.wait(WAIT)
    assert isinstance(reason, Shutdown)
    assert not tree.running
    assert [
        (e.supervisor, e.kind) for e in tree.log.since(seq) if e.kind != "child_terminated"
    ] == [
        ("root/sub", "child_crashed"),
        ("root/sub", "gave_up"),
        ("root/sub", "shutdown"),
        ("root", "escalated"),
        ("root", "gave_up"),
        ("root", "shutdown"),
    ]
    # Everything is stopped, each supervisor's children in reverse start order.
    assert lab.since(mark) == [
        ("terminate", "y"),
        ("terminate", "x"),
        ("terminate", "t"),
        ("terminate", "s"),
    ]
    assert tree.tree()["status"] == "stopped"


def test_tree_stop_reports_a_different_reason_than_giving_up(start, lab, names):
    """An operator stop and a give-up must be told apart (the server exits non-zero
    only after the latter)."""
    clock = VirtualClock()
    stopped = start(flat(lab, names, clock), root_id="calm")
    gave_up = start(
        SupervisorSpec(
            [ChildSpec("w", Probe, kwargs={"lab": lab}, name=names("w"))],
            max_restarts=0,
            clock=clock,
        ),
        root_id="fragile",
    )
    crash(gave_up, names("w"), "w", restarted=False)

    assert isinstance(gave_up.wait(WAIT), Shutdown)
    assert stopped.stop() == "shutdown"


def test_a_transient_supervisor_that_gives_up_is_not_restarted(start, lab, names):
    """OTP: a supervisor that gives up exits with `shutdown`, which a transient child's
    parent does not restart."""
    clock = VirtualClock()
    sub = SupervisorSpec(
        [ChildSpec("x", Probe, kwargs={"lab": lab}, name=names("x"))],
        max_restarts=0,
        clock=clock,
    )
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("sub", sub, restart="transient"),
                ChildSpec("s", Probe, kwargs={"lab": lab}, name=names("s")),
            ],
            clock=clock,
        )
    )
    seq = tree.log.last_seq
    crash(tree, names("x"), "x", restarted=False)
    wait_event(tree.log, "escalated", "sub", seq, supervisor="root")

    assert which_children(tree)[-1][:2] == ("sub", None)
    assert ("child_restarted", "sub") not in kinds(tree.log, seq)
    assert tree.running
    assert call(names("s"), ("echo", 1)) == 1


def test_a_group_restart_counts_once(start, lab, names):
    """One failure under one_for_all restarts every child but is one restart (OTP)."""
    clock = VirtualClock()
    tree = start(
        SupervisorSpec(
            [ChildSpec(c, Probe, kwargs={"lab": lab}, name=names(c)) for c in "abcd"],
            strategy="one_for_all",
            max_restarts=1,
            clock=clock,
        )
    )
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("b"), ("raise", RuntimeError("b failed")))
    wait_event(tree.log, "child_restarted", "d", seq)
    assert tree.running
    assert tree.tree()["restarts"] == {"window": 1, "total": 1}
    crash(tree, names("c"), "c", restarted=False)  # the second one in the window is too many
    assert isinstance(tree.wait(WAIT), Shutdown)
