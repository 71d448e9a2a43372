"""Point 2: failures caught everywhere, and what each restart type does after each exit.

Also the start contract: ``start_tree`` returns only when every child is up, and a child
failing to start stops the ones already started (reverse order) and raises ``StartFailed``.
"""

from __future__ import annotations

import threading

import pytest
from supervision_kit import WAIT, Fatal, Probe, kinds, wait_event

import supervisors.supervisor as supervisor_module
from supervisors import (
    ActorCrashed,
    ChildSpec,
    NoProcess,
    Shutdown,
    StartFailed,
    SupervisorSpec,
    call,
    crash,
    start_child,
    start_tree,
    whereis,
    which_children,
)

pytestmark = pytest.mark.timeout(30)


def one_child(lab, names, restart: str, **spec) -> SupervisorSpec:
    return SupervisorSpec(
        [
            ChildSpec("w", Probe, kwargs={"lab": lab}, restart=restart, name=names("w")),
            ChildSpec("other", Probe, kwargs={"lab": lab}, name=names("other")),
        ],
        max_restarts=100,
        **spec,
    )


def exit_child(kind: str, name: str, lab) -> None:
    """Make the child under ``name`` exit in one of the ways point 2 lists."""
    if kind == "handler_crash":
        with pytest.raises(ActorCrashed):
            call(name, ("raise", RuntimeError("handler failed")))
    elif kind == "normal_stop":  # the actor stops itself: a normal exit
        assert call(name, "stop") == "stopping"
    elif kind == "external_stop":  # someone stops it through Pykka: also normal
        whereis(name).stop(block=False)
    elif kind == "terminate_fails":  # a normal stop whose cleanup raises: abnormal
        lab.fail_terminate.add("w")
        assert call(name, "stop") == "stopping"
    elif kind == "shutdown_exit":  # the handler exits with OTP's `shutdown`: not abnormal
        with pytest.raises(ActorCrashed):
            call(name, ("raise", Shutdown("going away")))
    else:  # pragma: no cover
        raise AssertionError(kind)


ABNORMAL = {"handler_crash", "terminate_fails"}
EXITS = ["handler_crash", "normal_stop", "external_stop", "terminate_fails", "shutdown_exit"]


@pytest.mark.parametrize("how", EXITS)
@pytest.mark.parametrize("restart", ["permanent", "transient", "temporary"])
def test_restart_type_decides_after_each_kind_of_exit(start, lab, names, restart, how):
    tree = start(one_child(lab, names, restart))
    name = names("w")
    other_before = call(names("other"), "ping")
    seq = tree.log.last_seq

    exit_child(how, name, lab)

    abnormal = how in ABNORMAL
    decided = wait_event(tree.log, "child_crashed" if abnormal else "child_terminated", "w", seq)
    if how == "terminate_fails":
        assert "OSError" in decided.reason  # the cleanup failure is the exit reason
    if how in ("normal_stop", "external_stop"):
        assert decided.reason == "normal"
    expect_restart = restart == "permanent" or (restart == "transient" and abnormal)
    if expect_restart:
        wait_event(tree.log, "child_restarted", "w", decided.seq)
        lab.fail_terminate.discard("w")
        assert call(name, "ping")[1] == "w"
    children = {c[0]: c for c in which_children(tree)}
    if expect_restart:
        assert children["w"][1] is not None
    elif restart == "transient":
        assert children["w"][1] is None  # the spec stays, stopped
        with pytest.raises(NoProcess):
            call(name, "ping", timeout=WAIT)
    else:
        assert "w" not in children  # a temporary child's spec is dropped
        with pytest.raises(NoProcess):
            call(name, "ping", timeout=WAIT)
    assert call(names("other"), "ping") == other_before  # the sibling never noticed
    assert (("child_restarted", "w") in kinds(tree.log, seq)) == expect_restart


@pytest.mark.parametrize(
    "error", [RuntimeError("no db"), SystemExit(2), Fatal("fatal")], ids=lambda e: type(e).__name__
)
def test_a_child_failing_to_start_stops_earlier_ones_in_reverse_and_raises(lab, names, error):
    lab.fail_init["c"] = -1
    lab.init_error = lambda: error
    spec = SupervisorSpec(
        [
            ChildSpec(cid, Probe, kwargs={"lab": lab}, name=names(cid))
            for cid in ("a", "b", "c", "d")
        ]
    )

    with pytest.raises(StartFailed) as info:
        start_tree(spec)

    assert info.value.child_id == "c"
    assert info.value.reason is error
    assert lab.entries == [
        ("init", "a"),
        ("init", "b"),
        ("init", "c"),
        ("terminate", "b"),
        ("terminate", "a"),
    ]
    for cid in "abcd":  # every name is released again
        assert whereis(names(cid)) is None
        with pytest.raises(NoProcess):
            call(names(cid), "ping", timeout=WAIT)


def test_a_nested_start_failure_names_the_path_of_children(lab, names):
    lab.fail_init["y"] = -1
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
        ]
    )
    with pytest.raises(StartFailed) as info:
        start_tree(spec)

    assert info.value.child_id == "sub"
    inner = info.value.reason
    assert isinstance(inner, StartFailed)
    assert inner.child_id == "y"
    assert lab.since(3) == [("terminate", "x"), ("terminate", "a")]


def test_start_returns_only_when_every_child_is_up(start, lab, names):
    slow = threading.Event()

    class SlowStart(Probe):
        def init(self) -> None:
            slow.wait(0.2)  # a slow start-up; nobody sets it
            super().init()

    tree = start(
        SupervisorSpec(
            [
                ChildSpec("a", SlowStart, kwargs={"lab": lab}, name=names("a")),
                ChildSpec("b", SlowStart, kwargs={"lab": lab}, name=names("b")),
            ]
        )
    )
    assert lab.entries == [("init", "a"), ("init", "b")]
    assert whereis(names("a")) is not None
    assert whereis(names("b")) is not None
    assert [c["status"] for c in tree.tree()["children"]] == ["running", "running"]


def test_a_failed_init_on_restart_is_retried(start, lab, names):
    tree = start(one_child(lab, names, "permanent"))
    lab.fail_init["w"] = 2  # the next two starts fail, the third succeeds
    seq = tree.log.last_seq

    with pytest.raises(ActorCrashed):
        call(names("w"), ("raise", RuntimeError("first")))

    wait_event(tree.log, "child_restarted", "w", seq)
    assert [k for k, c in kinds(tree.log, seq) if c == "w"] == [
        "child_crashed",
        "child_crashed",
        "child_crashed",
        "child_restarted",
    ]
    node = tree.tree()["children"][0]
    assert node["last_crash"]["message"] == "init failed"
    assert node["restarts"]["total"] == 3
    assert call(names("w"), ("echo", 7)) == 7


def test_terminate_runs_after_a_crash_and_its_failure_does_not_block_restart(start, lab, names):
    tree = start(one_child(lab, names, "permanent"))
    lab.fail_terminate.add("w")
    mark, seq = lab.mark(), tree.log.last_seq

    with pytest.raises(ActorCrashed):
        call(names("w"), ("raise", RuntimeError("handler")))

    crashed = wait_event(tree.log, "child_crashed", "w", seq)
    assert "RuntimeError" in crashed.reason  # the original crash stays the reason
    wait_event(tree.log, "child_restarted", "w", crashed.seq)
    assert lab.since(mark) == [("terminate", "w"), ("init", "w")]


def test_a_failing_terminate_during_shutdown_does_not_stop_the_shutdown(start, lab, names):
    tree = start(
        SupervisorSpec(
            [ChildSpec(c, Probe, kwargs={"lab": lab}) for c in ("a", "b", "c")],
        )
    )
    lab.fail_terminate.add("b")
    seq = tree.log.last_seq

    assert tree.stop() == "shutdown"

    assert [e for e in lab.entries if e[0] == "terminate"] == [
        ("terminate", "c"),
        ("terminate", "b"),
        ("terminate", "a"),
    ]
    terminated = {e.child: e.reason for e in tree.log.since(seq) if e.kind == "child_terminated"}
    assert set(terminated) == {"a", "b", "c"}
    assert "OSError" in terminated["b"]
    assert terminated["a"] == "shutdown"


def test_a_base_exception_in_terminate_is_caught(start, lab, names):
    tree = start(one_child(lab, names, "permanent"))
    seq = tree.log.last_seq

    def die() -> None:
        raise SystemExit(9)

    lab.on_terminate["w"] = die
    assert call(names("w"), "stop") == "stopping"
    crashed = wait_event(tree.log, "child_crashed", "w", seq)
    assert "SystemExit" in crashed.reason
    del lab.on_terminate["w"]
    wait_event(tree.log, "child_restarted", "w", crashed.seq)
    assert tree.running


def test_a_crashing_supervisor_stops_its_children_and_is_restarted_by_its_parent(start, lab, names):
    sub = SupervisorSpec(
        [ChildSpec(c, Probe, kwargs={"lab": lab}, name=names(c)) for c in ("x", "y")]
    )
    tree = start(SupervisorSpec([ChildSpec("sub", sub)], max_restarts=10))
    sub_ref = which_children(tree)[0][1]
    mark, seq = lab.mark(), tree.log.last_seq

    crash(sub_ref, "operator drill")  # the supervisor itself fails

    wait_event(tree.log, "child_restarted", "sub", seq)
    assert lab.since(mark) == [
        ("terminate", "y"),
        ("terminate", "x"),
        ("init", "x"),
        ("init", "y"),
    ]
    crashed = next(e for e in tree.log.since(seq) if e.supervisor == "root")
    assert (crashed.kind, crashed.child) == ("child_crashed", "sub")  # not "escalated"
    assert "operator drill" in crashed.reason
    assert which_children(tree)[0][1] is not sub_ref
    assert call(names("x"), ("echo", 1)) == 1


def test_a_stopped_tree_answers_no_process_and_stops_only_once(start, lab):
    tree = start(SupervisorSpec([ChildSpec("a", Probe, kwargs={"lab": lab})]))
    assert tree.stop() == "shutdown"
    assert tree.stop() == "shutdown"
    assert lab.entries == [("init", "a"), ("terminate", "a")]
    with pytest.raises(NoProcess):
        which_children(tree)


class ConstructorFails(Probe):
    """Fails in ``__init__`` (run in the supervisor's thread) while lab says so."""

    def __init__(self, lab) -> None:
        if lab.take_init_failure("constructor"):
            raise lab.init_error()
        super().__init__(lab)


@pytest.mark.parametrize("error", [ValueError("bad config"), SystemExit(4), Fatal("fatal")])
def test_a_failing_constructor_is_a_failed_start_not_a_supervisor_crash(start, lab, names, error):
    lab.init_error = lambda: error
    tree = start(
        SupervisorSpec(
            [ChildSpec("w", ConstructorFails, kwargs={"lab": lab}, name=names("w"))],
            max_restarts=10,
        )
    )
    other = start_child(tree, ChildSpec("other", Probe, kwargs={"lab": lab}, name=names("o")))

    lab.fail_init["constructor"] = 1
    with pytest.raises(StartFailed) as info:
        start_child(tree, ChildSpec("new", ConstructorFails, kwargs={"lab": lab}))
    assert info.value.reason is error

    lab.fail_init["constructor"] = 1  # the next restart of w fails once, then succeeds
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("w"), ("raise", RuntimeError("x")))
    wait_event(tree.log, "child_restarted", "w", seq)
    assert [k for k, c in kinds(tree.log, seq)] == [
        "child_crashed",
        "child_crashed",
        "child_restarted",
    ]
    assert tree.running
    assert call(names("o"), "ping")[2] == other.actor_urn  # the sibling never noticed


def test_a_name_held_elsewhere_fails_the_start_and_is_left_alone(start, lab, names):
    first = start(SupervisorSpec([ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a"))]))
    spec = SupervisorSpec(
        [
            ChildSpec("b", Probe, kwargs={"lab": lab}, name=names("b")),
            ChildSpec("a2", Probe, kwargs={"lab": lab}, name=names("a")),
        ]
    )
    with pytest.raises(StartFailed) as info:
        start_tree(spec, root_id="second")
    assert info.value.child_id == "a2"
    assert isinstance(info.value.reason, ValueError)
    assert call(names("a"), "ping")[1] == "a"  # still the first tree's child
    assert whereis(names("b")) is None
    assert first.running


def test_a_child_slower_to_start_than_the_start_timeout_is_abandoned(monkeypatch, lab, names):
    monkeypatch.setattr(supervisor_module, "START_TIMEOUT", 0.2)
    gate = threading.Event()
    finished = threading.Event()

    class Slow(Probe):
        def init(self) -> None:
            gate.wait(WAIT)
            super().init()
            finished.set()

    with pytest.raises(StartFailed) as info:
        start_tree(SupervisorSpec([ChildSpec("s", Slow, kwargs={"lab": lab}, name=names("s"))]))
    assert info.value.child_id == "s"
    assert info.value.reason == "timeout"

    gate.set()  # the abandoned start completes late: it must not take the name
    assert finished.wait(WAIT)
    assert whereis(names("s")) is None
    with pytest.raises(NoProcess):
        call(names("s"), "ping")
