"""The eight deviations from OTP listed in issue 13, each written from OTP's semantics
(``supervisor.erl``, ``supervisor_SUITE.erl``) before the fix."""

from __future__ import annotations

import threading
import time

import pytest
from supervision_kit import WAIT, Block, Probe, in_thread, kinds, outcome, wait_event

from supervisors import (
    ActorCrashed,
    Backoff,
    ChildError,
    ChildSpec,
    DynamicSupervisorSpec,
    InvalidSpec,
    NoProcess,
    Pool,
    Rejected,
    StartFailed,
    SupervisorSpec,
    TaskSupervisorSpec,
    VirtualClock,
    call,
    count_children,
    restart_child,
    start_child,
    start_tree,
    terminate_child,
    which_children,
)

pytestmark = pytest.mark.timeout(30)


def probes(lab, names, ids, **spec) -> SupervisorSpec:
    return SupervisorSpec(
        [ChildSpec(cid, Probe, kwargs={"lab": lab}, name=names(cid)) for cid in ids],
        clock=VirtualClock(),
        **spec,
    )


def refs(sup) -> dict[str, object]:
    return {c[0]: c[1] for c in which_children(sup)}


# 1 ------------------------------------------------------------------------------------


def test_a_failed_restart_child_releases_the_name_so_calls_get_no_process_at_once(
    start, lab, names
):
    tree = start(probes(lab, names, ["a"]))
    terminate_child(tree, "a")
    lab.fail_init["a"] = 1
    with pytest.raises(StartFailed):
        restart_child(tree, "a")

    began = time.monotonic()
    with pytest.raises(NoProcess):
        call(names("a"), "ping", timeout=2.0)
    assert time.monotonic() - began < 1.0
    assert restart_child(tree, "a").is_alive()  # the name can be taken again
    assert call(names("a"), "ping")[1] == "a"


# 2 ------------------------------------------------------------------------------------


def test_one_for_all_retries_a_failed_restart_by_restarting_the_whole_group(start, lab, names):
    tree = start(probes(lab, names, ["a", "b"], strategy="one_for_all", max_restarts=10))
    lab.fail_init["b"] = 1
    mark, seq = lab.mark(), tree.log.last_seq

    with pytest.raises(ActorCrashed):
        call(names("a"), ("raise", RuntimeError("a failed")))
    wait_event(tree.log, "child_restarted", "b", seq)

    # OTP: try_again_restart restarts the group, so `a` goes down and comes back again.
    assert lab.since(mark) == [
        ("terminate", "a"),
        ("terminate", "b"),
        ("init", "a"),
        ("init", "b"),  # fails
        ("terminate", "a"),
        ("init", "a"),
        ("init", "b"),
    ]
    assert all(ref.is_alive() for ref in refs(tree).values())


# 3 ------------------------------------------------------------------------------------


def test_rest_for_one_leaves_later_children_stopped_when_the_failing_one_is_terminated(
    start, lab, names
):
    tree = start(probes(lab, names, ["a", "b", "c"], strategy="rest_for_one", max_restarts=10**5))
    lab.fail_init["b"] = -1  # every start of b fails from now on: a restart loop
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("b"), ("raise", RuntimeError("b failed")))
    crashed = wait_event(tree.log, "child_crashed", "b", seq)
    wait_event(tree.log, "child_crashed", "b", crashed.seq)  # a failed restart: it loops

    terminate_child(tree, "b")
    mark = lab.mark()
    which = refs(tree)  # handled after any retry that was queued before the terminate

    assert which["b"] is None and which["c"] is None
    assert which["a"] is not None
    assert ("init", "c") not in lab.since(mark)
    with pytest.raises(NoProcess):
        call(names("c"), "ping", timeout=1.0)


# 4 ------------------------------------------------------------------------------------


def test_a_dynamic_supervisor_stops_its_children_in_parallel(start, lab):
    tree = start(DynamicSupervisorSpec())
    # Each child's terminate waits until all three are in terminate: one at a time, the
    # first would be abandoned after its shutdown time.
    all_in = threading.Barrier(3, timeout=2.0)
    for cid in ("p1", "p2", "p3"):
        lab.on_terminate[cid] = all_in.wait
        start_child(tree, ChildSpec(cid, Probe, kwargs={"lab": lab}, shutdown=1.0))
    seq = tree.log.last_seq

    tree.stop()

    # One at a time, the first asked would sit alone at the barrier and be abandoned
    # (child_stuck) after its 1 s; all terminated means all three were stopping at once.
    stops = [(k, c) for k, c in kinds(tree.log, seq) if k != "shutdown"]
    assert sorted(stops) == [("child_terminated", c) for c in ("p1", "p2", "p3")]


# 5 ------------------------------------------------------------------------------------


def test_a_dynamic_supervisor_starts_any_number_of_children_from_one_spec(start, lab):
    tree = start(DynamicSupervisorSpec())
    spec = ChildSpec("w", Probe, kwargs={"lab": lab})
    first, second = start_child(tree, spec), start_child(tree, spec)

    assert first is not second and first.is_alive() and second.is_alive()
    assert call(first, "ping")[2] != call(second, "ping")[2]
    terminate_child(tree, first)  # the handle start_child returned
    assert not first.is_alive() and second.is_alive()
    assert [c[1] for c in which_children(tree)] == [second]
    third = start_child(tree, spec)
    with pytest.raises(ChildError) as info:  # the id no longer names one child
        terminate_child(tree, "w")
    assert info.value.reason == "ambiguous"
    assert [c[1] for c in which_children(tree)] == [third, second]  # newest first


# 6 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "failing"), [("one_for_all", "a"), ("rest_for_one", "b")])
def test_a_group_restart_also_starts_a_sibling_an_operator_terminated(
    start, lab, names, strategy, failing
):
    tree = start(probes(lab, names, ["a", "b", "c"], strategy=strategy, max_restarts=10))
    terminate_child(tree, "c")
    seq = tree.log.last_seq

    with pytest.raises(ActorCrashed):
        call(names(failing), ("raise", RuntimeError("failed")))
    wait_event(tree.log, "child_restarted", "c", seq)

    assert all(ref is not None for ref in refs(tree).values())
    assert call(names("c"), "ping")[1] == "c"


# 7 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_restarts", -1),
        ("max_restarts", 1.5),
        ("max_restarts", True),
        ("max_seconds", 0),
        ("max_seconds", -5),
        ("max_seconds", "5"),
    ],
)
@pytest.mark.parametrize("kind", [SupervisorSpec, DynamicSupervisorSpec])
def test_invalid_supervisor_flags_are_refused_at_start_naming_the_flag(kind, field, value):
    otp_reason = {"max_restarts": "invalid_intensity", "max_seconds": "invalid_period"}[field]
    for build in (kind, lambda **flags: Pool(Probe, 2, **flags)):
        with pytest.raises(ValueError, match=f"{otp_reason}: {field}=") as info:
            build(**{field: value})
        assert (info.value.field, info.value.reason) == (field, otp_reason)


INVALID_SUPERVISOR_FIELDS = [
    ("strategy", lambda: SupervisorSpec(strategy="one_for_none")),
    ("children", lambda: SupervisorSpec([Probe])),
    ("children", lambda: SupervisorSpec([ChildSpec("a", Probe), ChildSpec("a", Probe)])),
    ("backoff", lambda: SupervisorSpec(backoff=0.5)),
    ("clock", lambda: SupervisorSpec(clock=5.0)),
    ("clock", lambda: DynamicSupervisorSpec(clock=None)),
    ("max_children", lambda: DynamicSupervisorSpec(max_children=-1)),
    ("shutdown", lambda: TaskSupervisorSpec(shutdown=-1)),
    ("worker", lambda: Pool(dict, 2)),
    ("size", lambda: Pool(Probe, 0)),
    ("args", lambda: Pool(Probe, 2, args=[1])),
    ("initial", lambda: Backoff(initial=-1)),
    ("maximum", lambda: Backoff(maximum=float("inf"))),
    ("factor", lambda: Backoff(factor=0.5)),
]


@pytest.mark.parametrize(("field", "build"), INVALID_SUPERVISOR_FIELDS)
def test_every_other_spec_field_is_validated_naming_the_field(field, build):
    with pytest.raises(InvalidSpec, match=f": {field}=") as info:
        build()
    assert info.value.field == field


def test_what_is_not_a_spec_is_refused_by_start_tree_and_start_child_which_lives_on(start):
    with pytest.raises(InvalidSpec) as info:
        start_tree(ChildSpec("w", Probe))
    assert (info.value.field, info.value.reason) == ("spec", "invalid_child_spec")

    tree = start(DynamicSupervisorSpec())
    with pytest.raises(InvalidSpec) as info:
        start_child(tree, {"id": "w", "start": Probe})
    assert info.value.field == "spec"
    assert tree.running and count_children(tree)["specs"] == 0


def test_a_built_spec_cannot_be_made_invalid_afterwards():
    children = [ChildSpec("a", Probe)]
    spec = SupervisorSpec(children)
    children.append(ChildSpec("a", Probe))  # a duplicate id, added after the check
    assert spec.children == (ChildSpec("a", Probe),)


# 8 ------------------------------------------------------------------------------------

INVALID_CHILD_FIELDS = [
    ("id", {"id": ""}),
    ("id", {"id": 7}),
    ("start", {"start": dict}),
    ("start", {"start": Probe()}),
    ("args", {"args": [1]}),
    ("kwargs", {"kwargs": [("lab", None)]}),
    ("restart", {"restart": "sometimes"}),
    ("shutdown", {"shutdown": -10}),
    ("shutdown", {"shutdown": "forever"}),
    ("shutdown", {"shutdown": float("nan")}),
    ("name", {"name": ""}),
    ("name", {"name": 5}),
]


@pytest.mark.parametrize(("field", "fields"), INVALID_CHILD_FIELDS)
def test_every_child_spec_field_is_validated_naming_the_field(start, field, fields):
    values = {"id": "w", "start": Probe, **fields}
    with pytest.raises(ValueError, match=field) as info:
        start_child(start(DynamicSupervisorSpec()), ChildSpec(**values))
    assert info.value.field == field


def test_a_negative_shutdown_is_otps_invalid_shutdown():
    with pytest.raises(InvalidSpec, match="invalid_shutdown: shutdown=-10") as info:
        ChildSpec("w", Probe, shutdown=-10)
    assert info.value.reason == "invalid_shutdown"


@pytest.mark.parametrize("shutdown", ["brutal_kill", "infinity", 0, 2.5, 5.0, None])
@pytest.mark.parametrize("start", [Probe, SupervisorSpec(), Pool(Probe, 2)])
def test_the_valid_shutdown_values_are_kept_as_given(start, shutdown):
    assert ChildSpec("w", start, shutdown=shutdown).shutdown == shutdown


def test_the_default_shutdown_is_otps_five_seconds_for_a_worker_no_limit_for_a_supervisor():
    assert ChildSpec("w", Probe).shutdown == 5.0
    assert ChildSpec("s", SupervisorSpec()).shutdown is None
    assert ChildSpec("p", Pool(Probe, 2)).shutdown is None


def test_brutal_kill_abandons_a_busy_child_at_once_without_terminate(start, lab, names):
    tree = start(
        SupervisorSpec(
            [ChildSpec("w", Probe, kwargs={"lab": lab}, name=names("w"), shutdown="brutal_kill")]
        )
    )
    block = Block(threading.Event())
    busy = in_thread(lambda: call(names("w"), block, timeout=20))
    assert block.entered.wait(WAIT)
    seq, mark = tree.log.last_seq, lab.mark()

    terminate_child(tree, "w")

    assert kinds(tree.log, seq) == [("child_terminated", "w")]
    assert tree.log.since(seq)[0].reason == "killed"
    assert refs(tree)["w"] is None
    block.release.set()
    assert outcome(busy) == ("released", "w")  # its handler ran on; nothing was cleaned up
    assert lab.since(mark) == []


# Errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [ChildError, StartFailed])
def test_supervisor_errors_are_not_business_refusals_but_still_replies(start, lab, error):
    assert not issubclass(error, Rejected)
    tree = start(DynamicSupervisorSpec(max_children=0))
    with pytest.raises(ChildError):
        start_child(tree, ChildSpec("w", Probe, kwargs={"lab": lab}))
    assert tree.running  # a refusal is answered; the supervisor lives on
