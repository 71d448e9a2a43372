"""Point 3: one_for_all and rest_for_one terminate the right siblings in reverse start
order and start them again in order; untouched siblings keep the same incarnation."""

from __future__ import annotations

import pytest
from supervision_kit import Probe, kinds, wait_event

from supervisors import ActorCrashed, ChildSpec, SupervisorSpec, call, which_children

pytestmark = pytest.mark.timeout(30)

IDS = ("a", "b", "c", "d")

# strategy -> (children taken down besides the failed "b", in stop order; restart order)
EXPECTED = {
    "one_for_one": ([], ["b"]),
    "one_for_all": (["d", "c", "a"], ["a", "b", "c", "d"]),
    "rest_for_one": (["d", "c"], ["b", "c", "d"]),
}


def urns(names) -> dict[str, str]:
    return {cid: call(names(cid), "ping")[2] for cid in IDS}


def tree_of(start, lab, names, strategy, restarts=None):
    restarts = restarts or {}
    return start(
        SupervisorSpec(
            [
                ChildSpec(
                    cid,
                    Probe,
                    kwargs={"lab": lab},
                    name=names(cid),
                    restart=restarts.get(cid, "permanent"),
                )
                for cid in IDS
            ],
            strategy=strategy,
            max_restarts=100,
        )
    )


@pytest.mark.parametrize("strategy", list(EXPECTED))
@pytest.mark.parametrize("how", ["crash", "normal_exit"])
def test_the_strategy_restarts_the_right_group_in_the_right_order(start, lab, names, strategy, how):
    tree = tree_of(start, lab, names, strategy)
    before = urns(names)
    mark, seq = lab.mark(), tree.log.last_seq
    stopped, restarted = EXPECTED[strategy]

    if how == "crash":
        with pytest.raises(ActorCrashed):
            call(names("b"), ("raise", RuntimeError("b failed")))
    else:  # a permanent child's normal exit is restarted by the strategy just the same
        assert call(names("b"), "stop") == "stopping"
    wait_event(tree.log, "child_restarted", restarted[-1], seq)

    # The order log, written by the workers themselves: b exits first (its own crash),
    # then the siblings go down in reverse start order, then the group starts in order.
    assert lab.since(mark) == (
        [("terminate", "b")]
        + [("terminate", c) for c in stopped]
        + [("init", c) for c in restarted]
    )
    first = "child_crashed" if how == "crash" else "child_terminated"
    assert kinds(tree.log, seq) == (
        [(first, "b")]
        + [("child_terminated", c) for c in stopped]
        + [("child_restarted", c) for c in restarted]
    )
    after = urns(names)
    for cid in IDS:
        if cid in restarted:
            assert after[cid] != before[cid], f"{cid} should be a new incarnation"
        else:
            assert after[cid] == before[cid], f"{cid} should be untouched"
    refs = {c[0]: c[1] for c in which_children(tree)}
    assert all(ref is not None and ref.is_alive() for ref in refs.values())
    assert [c[0] for c in which_children(tree)] == list(reversed(IDS))  # OTP: newest first


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
def test_siblings_terminated_by_the_strategy_see_a_shutdown_exit(start, lab, names, strategy):
    tree = tree_of(start, lab, names, strategy)
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("b"), ("raise", RuntimeError("b failed")))
    wait_event(tree.log, "child_restarted", "d", seq)
    reasons = {e.child: e.reason for e in tree.log.since(seq) if e.kind == "child_terminated"}
    assert reasons["d"] == "shutdown"
    assert reasons["c"] == "shutdown"


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
def test_a_temporary_sibling_taken_down_by_the_strategy_is_dropped(start, lab, names, strategy):
    tree = tree_of(start, lab, names, strategy, restarts={"c": "temporary", "d": "transient"})
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("b"), ("raise", RuntimeError("b failed")))
    wait_event(tree.log, "child_restarted", "d", seq)

    ids = [c[0] for c in which_children(tree)]
    assert "c" not in ids  # OTP: a temporary child's spec goes when it is terminated
    assert "d" in ids  # a transient sibling is restarted with the group
    assert ("child_restarted", "c") not in kinds(tree.log, seq)


def test_a_temporary_child_exiting_restarts_nobody(start, lab, names):
    tree = tree_of(start, lab, names, "one_for_all", restarts={"b": "temporary"})
    before = urns(names)
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("b"), ("raise", RuntimeError("b failed")))
    wait_event(tree.log, "child_crashed", "b", seq)
    assert [c[0] for c in which_children(tree)] == ["d", "c", "a"]
    for cid in ("a", "c", "d"):
        assert call(names(cid), "ping")[2] == before[cid]
    assert kinds(tree.log, seq) == [("child_crashed", "b")]


def test_a_transient_child_exiting_normally_restarts_nobody(start, lab, names):
    tree = tree_of(start, lab, names, "rest_for_one", restarts={"b": "transient"})
    before = urns(names)
    seq = tree.log.last_seq
    assert call(names("b"), "stop") == "stopping"
    wait_event(tree.log, "child_terminated", "b", seq)
    children = {c[0]: c[1] for c in which_children(tree)}
    assert children["b"] is None
    for cid in ("a", "c", "d"):
        assert call(names(cid), "ping")[2] == before[cid]
