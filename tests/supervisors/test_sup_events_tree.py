"""Points 6 and 7: the decision log, and the live tree as plain data."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
from supervision_kit import WAIT, Block, Probe, wait_event

from supervisors import (
    ActorCrashed,
    Backoff,
    ChildSpec,
    DynamicSupervisorSpec,
    EventLog,
    NoProcess,
    Pool,
    Shutdown,
    SupervisorSpec,
    VirtualClock,
    call,
    crash,
    start_child,
    terminate_child,
    whereis,
    which_children,
)

pytestmark = pytest.mark.timeout(30)


def test_every_kind_of_decision_is_logged_with_time_and_reason(start, lab, names):
    lab.on_terminate["slow"] = lambda: lab.started_event("never").wait(5)
    clock = VirtualClock()
    sub = SupervisorSpec(
        [ChildSpec("x", Probe, kwargs={"lab": lab}, name=names("x"))], max_restarts=0, clock=clock
    )
    spec = SupervisorSpec(
        [
            ChildSpec("w", Probe, kwargs={"lab": lab}, name=names("w")),
            ChildSpec("sub", sub),
            ChildSpec("slow", Probe, kwargs={"lab": lab}, shutdown=0.1),
        ],
        max_restarts=1,
        clock=clock,
    )
    log = EventLog()
    began = time.time()
    tree = start(spec, log=log)
    assert tree.log is log
    with pytest.raises(ActorCrashed):
        call(names("w"), ("raise", ValueError("bad input")))
    wait_event(log, "child_restarted", "w")
    with pytest.raises(ActorCrashed):  # sub gives up at once, root restarts it: its 2nd restart
        call(names("x"), ("raise", OSError("disk")))
    wait_event(log, "gave_up", supervisor="root")
    reason = tree.wait(WAIT)
    assert isinstance(reason, Shutdown) and str(reason) == "reached_max_restart_intensity"
    lab.started_event("never").set()

    events = log.since(0)
    seen = {e.kind for e in events}
    assert seen >= {
        "child_started",
        "child_crashed",
        "child_restarted",
        "child_terminated",
        "shutdown",
        "escalated",
        "gave_up",
        "child_stuck",
    }
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(began - 1 <= e.at <= time.time() + 1 for e in events)
    ats = [e.at for e in events]
    assert ats == sorted(ats)
    by_kind = {}
    for e in events:
        by_kind.setdefault(e.kind, e)
    assert by_kind["child_crashed"].reason == "ValueError('bad input')"
    assert by_kind["child_crashed"].supervisor == "root"
    assert by_kind["gave_up"].reason == "reached_max_restart_intensity"
    assert by_kind["gave_up"].supervisor == "root/sub"
    assert "reached_max_restart_intensity" in by_kind["escalated"].reason
    assert by_kind["child_stuck"].reason == "did not stop in time"
    assert tree.events(after=seqs[-2]) == [events[-1].as_dict()]
    json.dumps(tree.events())  # plain data


def test_the_log_is_bounded_and_readable_after_a_sequence_number():
    log = EventLog(size=5)
    for i in range(12):
        log.append("root", "child_crashed", f"c{i}", RuntimeError(str(i)))
    kept = log.since(0)
    assert [e.seq for e in kept] == [8, 9, 10, 11, 12]
    assert [e.seq for e in log.since(10)] == [11, 12]
    assert log.last_seq == 12
    assert kept[-1].reason == "RuntimeError('11')"
    with pytest.raises(TimeoutError):
        log.wait_for(lambda e: True, after=12, timeout=0.05)


def test_wait_for_wakes_on_a_new_event():
    log = EventLog()
    timer = threading.Timer(0.05, log.append, ("root", "shutdown", None, None))
    timer.start()
    try:
        event = log.wait_for(lambda e: e.kind == "shutdown", timeout=WAIT)
        assert event.seq == 1
    finally:
        timer.cancel()


NODE_KEYS = {
    "id",
    "name",
    "kind",
    "class",
    "status",
    "restart",
    "restarts",
    "last_crash",
    "inbox",
    "started_at",
}
SUPERVISOR_KEYS = {"strategy", "max_restarts", "max_seconds", "children"}


def walk(node, depth=0):
    yield node, depth
    for child in node.get("children", ()):
        yield from walk(child, depth + 1)


@pytest.fixture
def busy_tree(start, lab, names):
    clock = VirtualClock()
    spec = SupervisorSpec(
        [
            ChildSpec("w", Probe, kwargs={"lab": lab}, name=names("w")),
            ChildSpec(
                "services",
                SupervisorSpec(
                    [
                        ChildSpec(
                            "t", Probe, kwargs={"lab": lab}, restart="transient", name=names("t")
                        )
                    ],
                    strategy="rest_for_one",
                    max_restarts=7,
                    max_seconds=30.0,
                    clock=clock,
                ),
            ),
            ChildSpec("pool", Pool(Probe, 2, kwargs={"lab": lab}), name=names("pool")),
        ],
        strategy="one_for_all",
        max_restarts=50,
        max_seconds=60.0,
        clock=clock,
    )
    tree = start(spec)
    tree.clock = clock
    return tree


def test_tree_describes_every_node_as_plain_data(busy_tree, names):
    began = time.time()
    view = busy_tree.tree()
    json.dumps(view)

    nodes = {n["id"]: n for n, _ in walk(view)}
    assert set(nodes) == {"root", "w", "services", "t", "pool", "pool-1", "pool-2"}
    for node in nodes.values():
        assert set(node) >= NODE_KEYS, node["id"]
        assert node["status"] == "running"
        assert node["last_crash"] is None
        assert node["inbox"] == 0
        assert node["started_at"] <= began + 1
    assert {k: nodes[k]["kind"] for k in nodes} == {
        "root": "supervisor",
        "w": "worker",
        "services": "supervisor",
        "t": "worker",
        "pool": "pool",
        "pool-1": "worker",
        "pool-2": "worker",
    }
    assert nodes["root"]["class"] == "Supervisor"
    assert nodes["w"]["class"] == "Probe"
    assert nodes["pool"]["class"] == "Pool[Probe]"
    assert nodes["w"]["name"] == names("w")
    assert nodes["pool-1"]["name"] == names("pool")  # members answer to the pool's name
    assert nodes["services"]["name"] is None
    assert nodes["t"]["restart"] == "transient"
    assert nodes["w"]["restart"] == "permanent"
    for sup in ("root", "services", "pool"):
        assert set(nodes[sup]) >= SUPERVISOR_KEYS
    assert (nodes["root"]["strategy"], nodes["root"]["max_restarts"]) == ("one_for_all", 50)
    assert nodes["root"]["max_seconds"] == 60.0
    assert (nodes["services"]["strategy"], nodes["services"]["max_restarts"]) == (
        "rest_for_one",
        7,
    )
    assert [c["id"] for c in nodes["root"]["children"]] == ["w", "services", "pool"]
    assert all(n["restarts"] == {"window": 0, "total": 0} for n in nodes.values())


def test_tree_shows_restarts_and_the_last_crash(busy_tree, names):
    seq = busy_tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("t"), ("raise", KeyError("missing")))
    wait_event(busy_tree.log, "child_restarted", "t", seq)

    services = {n["id"]: n for n, _ in walk(busy_tree.tree())}["services"]
    t = services["children"][0]
    assert t["last_crash"]["type"] == "KeyError"
    assert t["last_crash"]["message"] == "'missing'"
    assert t["last_crash"]["at"] == pytest.approx(time.time(), abs=5)
    assert t["restarts"] == {"window": 1, "total": 1}
    assert services["restarts"] == {"window": 1, "total": 1}

    busy_tree.clock.advance(31)  # out of services' 30 s window
    services = {n["id"]: n for n, _ in walk(busy_tree.tree())}["services"]
    assert services["children"][0]["restarts"] == {"window": 0, "total": 1}
    assert services["restarts"] == {"window": 0, "total": 1}
    assert services["children"][0]["last_crash"]["type"] == "KeyError"  # kept


def test_tree_shows_inbox_depth(busy_tree, names):
    ref = whereis(names("w"))
    block = Block(threading.Event())
    futures = [ref.ask(block, block=False)]
    assert block.entered.wait(WAIT)
    futures += [ref.ask(("echo", i), block=False) for i in range(3)]
    try:
        w = busy_tree.tree()["children"][0]
        assert w["inbox"] == 3
    finally:
        block.release.set()
    assert [f.get(timeout=WAIT) for f in futures[1:]] == [0, 1, 2]
    assert busy_tree.tree()["children"][0]["inbox"] == 0


def test_tree_shows_restarting_and_stopped(start, lab, names):
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("slowly", Probe, kwargs={"lab": lab}, name=names("slowly")),
                ChildSpec("t", Probe, kwargs={"lab": lab}, restart="transient", name=names("t")),
            ],
            backoff=Backoff(initial=30.0),
        )
    )
    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("slowly"), ("raise", RuntimeError("x")))
    assert call(names("t"), "stop") == "stopping"
    wait_event(tree.log, "child_crashed", "slowly", seq)
    wait_event(tree.log, "child_terminated", "t", seq)
    which = which_children(tree)  # the supervisor has handled both exits by now
    assert [(c[0], c[1]) for c in which] == [("t", None), ("slowly", "restarting")]

    statuses = {c["id"]: c["status"] for c in tree.tree()["children"]}
    assert statuses == {"slowly": "restarting", "t": "stopped"}
    assert tree.tree()["children"][0]["inbox"] == 0

    terminate_child(tree, "slowly")
    assert tree.tree()["children"][0]["status"] == "stopped"
    with pytest.raises(NoProcess):
        call(names("slowly"), "ping", timeout=WAIT)


def test_tree_is_safe_to_read_while_a_child_crash_loops(start, lab, names):
    clock = VirtualClock()
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("looping", Probe, kwargs={"lab": lab}, name=names("looping")),
                ChildSpec(
                    "sub",
                    SupervisorSpec(
                        [ChildSpec("x", Probe, kwargs={"lab": lab}, name=names("x"))],
                        strategy="one_for_all",
                        max_restarts=10_000,
                        clock=clock,
                    ),
                ),
                ChildSpec("pool", Pool(Probe, 3, kwargs={"lab": lab}), name=names("pool")),
            ],
            max_restarts=10_000,
            clock=clock,
        )
    )
    rounds = 60
    done = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def crash_loop() -> None:
        try:
            for _ in range(rounds):
                seq = tree.log.last_seq
                for name in ("looping", "x", "pool"):
                    with contextlib.suppress(ActorCrashed):
                        call(names(name), ("raise", RuntimeError("loop")), timeout=WAIT)
                wait_event(tree.log, "child_restarted", "looping", seq)
                clock.advance(0.01)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                view = tree.tree()
                statuses = {n["status"] for n, _ in walk(view)}
                assert statuses <= {"running", "restarting", "stopped"}
                json.dumps(view)
                reads[0] += 1
                done.wait(0.0005)  # a short pause lets the crash loop have the GIL
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=crash_loop)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(25)
    assert not [t for t in threads if t.is_alive()]
    assert not errors, errors
    assert reads[0] >= 20  # the readers really overlapped the crash loop
    looping = tree.tree()["children"][0]
    assert looping["restarts"]["total"] == rounds
    assert looping["status"] == "running"


def test_the_shutdown_event_says_why(start, lab, names):
    clock = VirtualClock()
    sub = SupervisorSpec(
        [ChildSpec("x", Probe, kwargs={"lab": lab}, name=names("x"))], max_restarts=0, clock=clock
    )
    tree = start(
        SupervisorSpec(
            [ChildSpec("sub", sub), ChildSpec("other", SupervisorSpec([]))],
            max_restarts=10,
            clock=clock,
        )
    )
    with pytest.raises(ActorCrashed):
        call(names("x"), ("raise", RuntimeError("x failed")))
    gave_up = wait_event(tree.log, "shutdown", supervisor="root/sub")
    assert "reached_max_restart_intensity" in gave_up.reason
    wait_event(tree.log, "child_restarted", "sub", gave_up.seq, supervisor="root")
    seq = tree.log.last_seq
    other = dict((c[0], c[1]) for c in which_children(tree))["other"]
    crash(other, "drill")
    crashed = wait_event(tree.log, "shutdown", after=seq, supervisor="root/other")
    assert "drill" in crashed.reason
    wait_event(tree.log, "child_restarted", "other", crashed.seq, supervisor="root")
    seq = tree.log.last_seq
    tree.stop()
    stopped = [e for e in tree.log.since(seq) if e.kind == "shutdown"]
    assert [(e.supervisor, e.reason) for e in stopped] == [
        ("root", "shutdown"),
        ("root/other", "shutdown"),
        ("root/sub", "shutdown"),
    ]


def test_tree_can_sum_up_a_dynamic_supervisors_many_children(start, lab, names):
    tree = start(SupervisorSpec([ChildSpec("dyn", DynamicSupervisorSpec(), name=names("dyn"))]))
    for n in range(5):
        start_child(names("dyn"), ChildSpec(f"c{n}", Probe, kwargs={"lab": lab}))
    full = tree.tree()["children"][0]
    assert len(full["children"]) == 5 and "children_total" not in full
    summed = tree.tree(dynamic_limit=2)["children"][0]
    assert [c["id"] for c in summed["children"]] == ["c0", "c1"]
    assert (summed["children_total"], summed["children_running"]) == (5, 5)
    assert summed["children_inbox"] == 0
    # With a limit the totals are there even when every child is shown: a reader of the
    # view (the metrics sampler) counts a dynamic supervisor by them alone.
    roomy = tree.tree(dynamic_limit=10)["children"][0]
    assert len(roomy["children"]) == 5 and roomy["children_total"] == 5
