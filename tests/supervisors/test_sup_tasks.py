"""Task.Supervisor with Elixir's semantics: async/await, yield, shutdown, start_child and
async_stream with back-pressure; a task's failure reaches its awaiter; a task given up on
leaves the tree at once."""

from __future__ import annotations

import threading

import pytest
from supervision_kit import WAIT, Probe, Refused, wait_event

from supervisors import (
    ActorCrashed,
    CallTimeout,
    ChildSpec,
    SupervisorSpec,
    TaskSupervisorSpec,
    VirtualClock,
    call,
    exit,
    task,
    which_children,
)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def tasks(start, names):
    """A tree with a Task.Supervisor registered as ``names("tasks")``: (tree, name)."""
    tree = start(
        SupervisorSpec(
            [ChildSpec("tasks", TaskSupervisorSpec(shutdown=1.0), name=names("tasks"))],
            max_restarts=10,
            clock=VirtualClock(),
        )
    )
    return tree, names("tasks")


def running_tasks(sup: str) -> list:
    return which_children(sup)


def test_async_and_await_and_the_supervisor_shows_in_the_tree(tasks):
    tree, sup = tasks
    seq = tree.log.last_seq
    t = task.async_(sup, lambda x, y: x + y, 2, y=3)
    assert t.await_(WAIT) == 5
    assert which_children(tree)[0][::2] == ("tasks", "supervisor")
    assert which_children(tree)[0][3] == ["TaskSupervisor"]
    assert tree.tree()["children"][0]["class"] == "TaskSupervisor"
    assert not [e for e in tree.log.since(seq) if e.supervisor == "root/tasks" and e.child]


def test_a_task_that_raises_makes_await_raise_with_the_cause(tasks):
    tree, sup = tasks
    error = RuntimeError("task failed")

    def fail() -> None:
        raise error

    seq = tree.log.last_seq
    with pytest.raises(ActorCrashed) as info:
        task.async_nolink(sup, fail).await_(WAIT)
    assert info.value.__cause__ is error
    crashed = wait_event(tree.log, "child_crashed", "fail", seq, supervisor="root/tasks")
    assert crashed.reason == repr(error)

    def refuse() -> None:
        raise Refused("no")

    with pytest.raises(Refused):  # a business refusal comes back as it is
        task.async_nolink(sup, refuse).await_(WAIT)


def test_an_await_that_times_out_kills_the_task_and_drops_its_result(tasks):
    _tree, sup = tasks
    release = threading.Event()
    t = task.async_nolink(sup, release.wait, 20)
    with pytest.raises(CallTimeout):
        t.await_(0.1)
    assert running_tasks(sup) == []  # out of the tree at once
    release.set()
    assert t.yield_(0) == ("exit", "killed")


def test_yield_and_shutdown(tasks):
    _tree, sup = tasks
    release = threading.Event()
    t = task.async_nolink(sup, lambda: release.wait(20) and "done")
    assert t.yield_(0) is None  # still running: it goes on
    release.set()
    assert t.yield_(WAIT) == ("ok", "done")
    assert t.shutdown() == ("ok", "done")

    stuck = task.async_nolink(sup, threading.Event().wait, 20)
    assert stuck.shutdown("brutal_kill") is None
    assert running_tasks(sup) == []


def test_start_child_is_fire_and_forget(tasks):
    _tree, sup = tasks
    ran = threading.Event()
    ref = task.start_child(sup, ran.set)
    assert ran.wait(WAIT)
    assert ref is not None


def test_async_stream_keeps_order_and_applies_back_pressure(tasks):
    _tree, sup = tasks
    pulled = []

    def items():
        for i in range(6):
            pulled.append(i)
            yield i

    lock, active, peak = threading.Lock(), [0], [0]

    def work(x: int) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        with lock:
            active[0] -= 1
        return x * 10

    stream = task.async_stream(sup, items(), work, max_concurrency=2)
    assert pulled == []  # lazy: nothing starts before the first result is asked for
    assert next(stream) == ("ok", 0)
    assert pulled == [0, 1]  # no more than max_concurrency taken ahead
    assert list(stream) == [("ok", x * 10) for x in range(1, 6)]
    assert peak[0] <= 2


@pytest.mark.parametrize("ordered", [True, False])
def test_async_stream_ordered_or_as_they_finish(tasks, ordered):
    _tree, sup = tasks
    second_done = threading.Event()

    def work(x: int) -> int:
        if x == 0:
            second_done.wait(WAIT)
        else:
            second_done.set()
        return x

    results = list(task.async_stream(sup, [0, 1], work, max_concurrency=2, ordered=ordered))
    assert results == ([("ok", 0), ("ok", 1)] if ordered else [("ok", 1), ("ok", 0)])


def test_async_stream_timeouts(tasks):
    _tree, sup = tasks
    never = threading.Event()

    def work(x: int) -> int:
        if x == 1:
            never.wait(20)
        return x

    results = list(task.async_stream(sup, [0, 1, 2], work, timeout=0.2, on_timeout="kill_task"))
    assert results == [("ok", 0), ("exit", "timeout"), ("ok", 2)]
    with pytest.raises(CallTimeout):
        list(task.async_stream(sup, [0, 1, 2], work, timeout=0.2))
    assert running_tasks(sup) == []  # the stream killed what it left running
    never.set()


def test_closing_a_stream_early_kills_its_running_tasks(tasks):
    _tree, sup = tasks
    release = threading.Event()
    stream = task.async_stream(
        sup, range(5), lambda x: x if x == 0 else release.wait(20), max_concurrency=3
    )
    assert next(stream) == ("ok", 0)
    assert len(running_tasks(sup)) == 2  # 1 and 2; 3 starts when the next one is asked for
    stream.close()
    assert running_tasks(sup) == []
    release.set()


class Caller(Probe):
    """Starts a task on ("spawn", sup, linked, release) and returns without awaiting it."""

    def handle(self, message: object) -> object:
        match message:
            case ("spawn", sup, linked, release):
                start = task.async_ if linked else task.async_nolink
                start(sup, lambda: release.wait(20) and 1 / 0)
                return "spawned"
        return super().handle(message)


@pytest.mark.parametrize("linked", [True, False])
def test_async_links_the_task_to_the_calling_actor(start, lab, names, tasks, linked):
    _tree, sup = tasks
    tree = start(
        SupervisorSpec([ChildSpec("caller", Caller, kwargs={"lab": lab}, name=names("c"))])
    )
    before = call(names("c"), "ping")
    release = threading.Event()
    seq = tree.log.last_seq
    assert call(names("c"), ("spawn", sup, linked, release)) == "spawned"

    release.set()  # the task now fails with ZeroDivisionError

    if linked:
        crashed = wait_event(tree.log, "child_crashed", "caller", seq)
        assert "ZeroDivisionError" in crashed.reason
        wait_event(tree.log, "child_restarted", "caller", seq)
    else:
        wait_event(_tree.log, "child_crashed", "<lambda>", supervisor="root/tasks")
        assert call(names("c"), "ping") == before


def test_a_task_dies_at_once_with_the_caller_it_is_linked_to(start, lab, names, tasks):
    tasks_tree, sup = tasks
    tree = start(
        SupervisorSpec([ChildSpec("caller", Caller, kwargs={"lab": lab}, name=names("c"))])
    )
    release = threading.Event()
    assert call(names("c"), ("spawn", sup, True, release)) == "spawned"
    assert len(running_tasks(sup)) == 1
    seq = tasks_tree.log.last_seq

    with pytest.raises(ActorCrashed):
        call(names("c"), ("raise", RuntimeError("caller failed")))

    # Its function is still waiting, yet the task is out of the tree with the caller's reason.
    crashed = wait_event(tasks_tree.log, "child_crashed", "<lambda>", seq, supervisor="root/tasks")
    assert "caller failed" in crashed.reason
    assert running_tasks(sup) == []
    wait_event(tree.log, "child_restarted", "caller")
    release.set()


def test_an_exit_signal_abandons_a_task_at_once_and_its_awaiter_hears_the_reason(tasks):
    _tree, sup = tasks
    running, release = threading.Event(), threading.Event()

    def work() -> bool:
        running.set()
        return release.wait(20)

    t = task.async_nolink(sup, work)
    assert running.wait(WAIT)

    exit(t.ref, "shutdown")

    assert t.yield_(WAIT) == ("exit", "shutdown")
    assert running_tasks(sup) == []
    release.set()
