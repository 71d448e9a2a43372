"""Supervisor operations with OTP's outcomes, DynamicSupervisor, pools routed by load,
and ``Worker.drain`` (group-taking of queued requests)."""

from __future__ import annotations

import threading

import pytest
from supervision_kit import WAIT, Block, Probe, in_thread, outcome, wait_event

from supervisors import (
    ActorCrashed,
    Backoff,
    ChildError,
    ChildSpec,
    DynamicSupervisorSpec,
    NoProcess,
    Pool,
    StartFailed,
    SupervisorSpec,
    VirtualClock,
    call,
    count_children,
    delete_child,
    restart_child,
    start_child,
    terminate_child,
    whereis,
    which_children,
)

pytestmark = pytest.mark.timeout(30)


def reason_of(fn, *args) -> str:
    with pytest.raises(ChildError) as info:
        fn(*args)
    return info.value.reason


@pytest.fixture
def static(start, lab, names):
    return start(
        SupervisorSpec(
            [
                ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a")),
                ChildSpec("sub", SupervisorSpec([ChildSpec("x", Probe, kwargs={"lab": lab})])),
                ChildSpec("pool", Pool(Probe, 2, kwargs={"lab": lab}), name=names("pool")),
                ChildSpec("tmp", Probe, kwargs={"lab": lab}, restart="temporary"),
            ],
            max_restarts=100,
        )
    )


def test_which_and_count_children(static):
    which = which_children(static)
    assert [(c[0], c[2], c[3]) for c in which] == [  # OTP's order: newest first
        ("tmp", "worker", ["Probe"]),
        ("pool", "supervisor", ["Pool[Probe]"]),
        ("sub", "supervisor", ["Supervisor"]),
        ("a", "worker", ["Probe"]),
    ]
    assert all(c[1] is not None and c[1].is_alive() for c in which)
    assert count_children(static) == {"specs": 4, "active": 4, "supervisors": 2, "workers": 2}


def test_terminate_restart_and_delete_a_child(static, names):
    old = call(names("a"), "ping")
    seq = static.log.last_seq

    assert terminate_child(static, "a") is None

    assert [e.kind for e in static.log.since(seq)] == ["child_terminated"]
    assert static.log.since(seq)[0].reason == "shutdown"
    assert which_children(static)[-1][1] is None
    assert count_children(static)["active"] == 3
    assert count_children(static)["specs"] == 4
    with pytest.raises(NoProcess):
        call(names("a"), "ping")
    assert terminate_child(static, "a") is None  # already stopped: fine, as in OTP

    assert reason_of(start_child, static, ChildSpec("a", Probe)) == "already_present"
    ref = restart_child(static, "a")
    assert ref is not None and ref.is_alive()
    assert which_children(static)[-1][1] is ref
    assert call(names("a"), "ping")[2] not in (old[2],)

    assert reason_of(restart_child, static, "a") == "running"
    assert reason_of(delete_child, static, "a") == "running"
    assert reason_of(start_child, static, ChildSpec("a", Probe)) == "already_started"

    terminate_child(static, "a")
    assert delete_child(static, "a") is None
    assert [c[0] for c in which_children(static)] == ["tmp", "pool", "sub"]
    for op in (restart_child, delete_child, terminate_child):
        assert reason_of(op, static, "a") == "not_found"


def test_terminating_a_temporary_child_drops_its_spec(static):
    terminate_child(static, "tmp")
    assert "tmp" not in [c[0] for c in which_children(static)]
    assert reason_of(restart_child, static, "tmp") == "not_found"


def test_terminating_a_supervisor_child_stops_its_subtree(static, lab):
    mark = lab.mark()
    terminate_child(static, "sub")
    assert lab.since(mark) == [("terminate", "x")]
    restart_child(static, "sub")
    assert lab.since(mark) == [("terminate", "x"), ("init", "x")]


def test_start_child_adds_a_child_at_the_end(static, lab, names):
    ref = start_child(static, ChildSpec("late", Probe, kwargs={"lab": lab}, name=names("late")))
    assert ref.is_alive()
    assert which_children(static)[0][0] == "late"
    assert call(names("late"), "ping")[1] == "late"
    assert count_children(static)["specs"] == 5


def test_start_child_failing_to_start_leaves_nothing_behind(static, lab, names):
    lab.fail_init["bad"] = 1
    spec = ChildSpec("bad", Probe, kwargs={"lab": lab}, name=names("bad"))
    with pytest.raises(StartFailed) as info:
        start_child(static, spec)
    assert info.value.child_id == "bad"
    assert "bad" not in [c[0] for c in which_children(static)]
    with pytest.raises(NoProcess):
        call(names("bad"), "ping")
    assert start_child(static, spec).is_alive()  # the name was released
    assert call(names("bad"), "ping")[1] == "bad"


def test_operations_on_a_restarting_child(start, lab, names):
    tree = start(
        SupervisorSpec(
            [ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a"))],
            backoff=Backoff(initial=30.0),
        )
    )
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("a"), ("raise", RuntimeError("x")))
    wait_event(tree.log, "child_crashed", "a", seq)

    assert which_children(tree)[0][1] == "restarting"
    assert count_children(tree)["active"] == 0
    assert reason_of(restart_child, tree, "a") == "restarting"
    assert reason_of(delete_child, tree, "a") == "restarting"
    assert reason_of(start_child, tree, ChildSpec("a", Probe)) == "already_present"
    terminate_child(tree, "a")  # cancels the pending restart
    assert which_children(tree)[0][1] is None
    assert restart_child(tree, "a").is_alive()


# ---------------------------------------------------------------- DynamicSupervisor


@pytest.fixture
def dynamic(start):
    tree = start(
        SupervisorSpec(
            [ChildSpec("dyn", DynamicSupervisorSpec(max_children=2, clock=VirtualClock()))]
        )
    )
    return tree, which_children(tree)[0][1]


def test_dynamic_children_and_max_children(dynamic, lab, names):
    tree, dyn = dynamic
    assert which_children(dyn) == []
    a = start_child(dyn, ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a")))
    assert a.is_alive() and call(names("a"), "ping")[1] == "a"
    with pytest.raises(StartFailed):  # any number from one spec, but a name is held once
        start_child(dyn, ChildSpec("a", Probe, name=names("a")))
    start_child(dyn, ChildSpec("b", Probe, kwargs={"lab": lab}))
    assert reason_of(start_child, dyn, ChildSpec("c", Probe)) == "max_children"
    assert count_children(dyn) == {"specs": 2, "active": 2, "supervisors": 0, "workers": 2}

    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("a"), ("raise", RuntimeError("x")))
    restarted = wait_event(tree.log, "child_restarted", "a", seq)
    assert restarted.supervisor == "root/dyn"

    terminate_child(dyn, "a")  # a dynamic child leaves no spec behind ...
    assert [c[0] for c in which_children(dyn)] == ["b"]
    assert reason_of(restart_child, dyn, "a") == "not_found"
    assert start_child(dyn, ChildSpec("c", Probe)).is_alive()  # ... and frees its slot


@pytest.mark.parametrize("restart", ["temporary", "transient"])
def test_a_dynamic_child_that_is_not_restarted_frees_its_slot(dynamic, lab, names, restart):
    tree, dyn = dynamic
    start_child(dyn, ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a"), restart=restart))
    start_child(dyn, ChildSpec("b", Probe, kwargs={"lab": lab}))
    seq = tree.log.last_seq

    assert call(names("a"), "stop") == "stopping"  # a normal exit: neither is restarted
    wait_event(tree.log, "child_terminated", "a", seq)

    assert [c[0] for c in which_children(dyn)] == ["b"]  # Elixir: no spec kept
    assert start_child(dyn, ChildSpec("c", Probe)).is_alive()


def test_a_dynamic_supervisor_can_be_the_root(start, lab):
    tree = start(DynamicSupervisorSpec(max_children=1))
    assert tree.tree()["class"] == "DynamicSupervisor"
    start_child(tree, ChildSpec("a", Probe, kwargs={"lab": lab}))
    assert reason_of(start_child, tree, ChildSpec("b", Probe)) == "max_children"


# ---------------------------------------------------------------- pools


@pytest.fixture
def pool(start, lab, names):
    return start(
        SupervisorSpec(
            [ChildSpec("pool", Pool(Probe, 3, kwargs={"lab": lab}), name=names("pool"))],
            max_restarts=100,
        )
    )


def test_calls_go_to_the_least_loaded_member(pool, names):
    name = names("pool")
    first, second = Block(threading.Event()), Block(threading.Event())
    try:
        busy = [in_thread(lambda: call(name, first, timeout=20))]
        assert first.entered.wait(WAIT)
        busy.append(in_thread(lambda: call(name, second, timeout=20)))
        assert second.entered.wait(WAIT)

        answered_by = {call(name, "ping", timeout=WAIT)[1] for _ in range(20)}
    finally:
        first.release.set()
        second.release.set()
    blocked = {outcome(f)[1] for f in busy}

    assert len(blocked) == 2  # the second block went to a free member, not behind the first
    assert len(answered_by) == 1
    assert answered_by.isdisjoint(blocked)  # nothing queued behind a blocked member
    assert blocked | answered_by == {"pool-1", "pool-2", "pool-3"}


def test_pool_members_are_restarted_individually(pool, names):
    name = names("pool")
    block = Block(threading.Event(), then=RuntimeError("member failed"))
    crashing = in_thread(lambda: call(name, block, timeout=20))
    assert block.entered.wait(WAIT)
    victim = {c["id"]: c for c in pool.tree()["children"][0]["children"]}
    others_before = {call(name, "ping")[1:] for _ in range(4)}  # served by the others
    seq = pool.log.last_seq

    block.release.set()

    assert isinstance(outcome(crashing), ActorCrashed)
    restarted = wait_event(pool.log, "child_restarted", after=seq)
    assert restarted.supervisor == "root/pool"
    members = pool.tree()["children"][0]["children"]
    assert [m["restarts"]["total"] for m in members].count(1) == 1
    assert sum(m["restarts"]["total"] for m in members) == 1
    assert set(victim) == {m["id"] for m in members}
    # The members that did not crash are the same incarnations as before.
    pool_sup = which_children(pool)[0][1]
    live = {c[0]: c[1].actor_urn for c in which_children(pool_sup)}
    for member_id, urn in others_before:
        assert live[member_id] == urn
    assert restarted.child not in {m for m, _ in others_before}
    assert call(name, ("echo", 5)) == 5


# ---------------------------------------------------------------- Worker.drain


class Batcher(Probe):
    """("lead", limit, answer, error): take queued ("item", x) requests and answer
    ``answer`` of them with x * 10; then raise ``error`` if given."""

    def handle(self, message: object) -> object:
        match message:
            case ("lead", limit, answer, error):
                taken = self.drain(limit, lambda m: isinstance(m, tuple) and m[0] == "item")
                for pending in taken[:answer]:
                    pending.reply(pending.message[1] * 10)
                    pending.reply("twice")  # a second answer is ignored
                if error is not None:
                    raise error
                return len(taken), [p.answered for p in taken]
            case ("item", x):
                return ("single", x)
        return super().handle(message)


@pytest.fixture
def batcher(start, lab, names):
    tree = start(SupervisorSpec([ChildSpec("b", Batcher, kwargs={"lab": lab}, name=names("b"))]))
    ref = whereis(names("b"))
    block = Block(threading.Event())
    gate = ref.ask(block, block=False)
    assert block.entered.wait(WAIT)
    return tree, ref, block, gate


def test_drain_takes_matching_requests_from_the_head_and_answers_each(batcher):
    _tree, ref, block, gate = batcher
    lead = ref.ask(("lead", 10, 10, None), block=False)
    items = [ref.ask(("item", i), block=False) for i in (1, 2, 3)]
    other = ref.ask("ping", block=False)
    late_item = ref.ask(("item", 4), block=False)
    block.release.set()

    assert gate.get(timeout=WAIT) == ("released", "b")
    assert lead.get(timeout=WAIT) == (3, [True, True, True])
    assert [f.get(timeout=WAIT) for f in items] == [10, 20, 30]
    assert other.get(timeout=WAIT)[0] == "pong"  # taking stops at the first non-match
    assert late_item.get(timeout=WAIT) == ("single", 4)


def test_drain_takes_no_more_than_its_limit(batcher):
    _tree, ref, block, _gate = batcher
    lead = ref.ask(("lead", 2, 2, None), block=False)
    items = [ref.ask(("item", i), block=False) for i in (1, 2, 3, 4)]
    block.release.set()

    assert lead.get(timeout=WAIT) == (2, [True, True])
    assert [f.get(timeout=WAIT) for f in items] == [10, 20, ("single", 3), ("single", 4)]


def test_taken_requests_left_unanswered_are_failed_not_forgotten(batcher):
    tree, ref, block, _gate = batcher
    seq = tree.log.last_seq
    lead = ref.ask(("lead", 10, 1, None), block=False)
    items = [ref.ask(("item", i), block=False) for i in (1, 2, 3)]
    block.release.set()

    assert lead.get(timeout=WAIT) == (3, [True, False, False])
    assert items[0].get(timeout=WAIT) == 10
    for future in items[1:]:
        with pytest.raises(RuntimeError, match="taken but not answered"):
            future.get(timeout=WAIT)
    assert ref.is_alive()  # a bookkeeping slip is not a crash
    assert not [e for e in tree.log.since(seq) if e.kind == "child_crashed"]


def test_taken_requests_get_actor_crashed_if_the_worker_crashes_mid_batch(batcher, names):
    tree, ref, block, _gate = batcher
    seq = tree.log.last_seq
    error = ValueError("batch failed")
    lead = ref.ask(("lead", 10, 1, error), block=False)
    items = [ref.ask(("item", i), block=False) for i in (1, 2, 3)]
    queued = ref.ask("ping", block=False)
    block.release.set()

    with pytest.raises(ActorCrashed) as info:
        lead.get(timeout=WAIT)
    assert info.value.__cause__ is error
    assert items[0].get(timeout=WAIT) == 10  # answered before the crash: kept
    for future in [*items[1:], queued]:
        with pytest.raises(ActorCrashed) as info:
            future.get(timeout=WAIT)
        assert info.value.__cause__ is error
    wait_event(tree.log, "child_restarted", "b", seq)
    assert call(names("b"), ("item", 9)) == ("single", 9)
