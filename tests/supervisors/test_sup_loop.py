"""``LoopWorker``: actors on an event loop, supervised like any child, no thread each."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from supervision_kit import WAIT, wait_event

from supervisors import (
    ActorCrashed,
    ChildSpec,
    Crash,
    DynamicSupervisorSpec,
    LoopWorker,
    SupervisorSpec,
    call,
    cast,
    start_child,
    terminate_child,
)

pytestmark = pytest.mark.timeout(30)


@dataclass(frozen=True)
class Slow:
    """Handled off the loop; waits until ``release`` is set."""

    release: threading.Event


class Echo(LoopWorker):
    def __init__(self, loop: asyncio.AbstractEventLoop, seen: list) -> None:
        super().__init__(loop)
        self.seen = seen

    def blocks(self, message: object) -> bool:
        return isinstance(message, Slow)

    def handle(self, message: object) -> object:
        if isinstance(message, Slow):
            assert message.release.wait(WAIT)
            self.seen.append("slow")
            return "slow done"
        self.seen.append(message)
        return (message, threading.current_thread().name)

    def terminate(self) -> None:
        self.seen.append("terminated")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="the-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(WAIT)


def test_messages_run_in_order_on_the_loop_without_a_thread_each(loop, start, names):
    tree = start(SupervisorSpec([ChildSpec("dyn", DynamicSupervisorSpec(), name=names("dyn"))]))
    threads = threading.active_count()
    seen: list = []
    refs = [
        start_child(names("dyn"), ChildSpec(f"e{i}", Echo, (loop, seen), restart="temporary"))
        for i in range(50)
    ]
    assert threading.active_count() == threads
    for i in range(20):
        cast(refs[0], i)
    assert call(refs[0], "last") == ("last", "the-loop")
    assert seen == [*range(20), "last"]
    dyn = tree.tree()["children"][0]
    assert len(dyn["children"]) == 50 and dyn["children"][0]["status"] == "running"


def test_a_blocking_message_leaves_the_loop_to_the_others(loop, start, names):
    start(SupervisorSpec([ChildSpec("dyn", DynamicSupervisorSpec(), name=names("dyn"))]))
    seen_a: list = []
    seen_b: list = []
    a = start_child(names("dyn"), ChildSpec("a", Echo, (loop, seen_a), restart="temporary"))
    b = start_child(names("dyn"), ChildSpec("b", Echo, (loop, seen_b), restart="temporary"))
    release = threading.Event()
    cast(a, Slow(release))
    cast(a, "after slow")  # queued behind the blocking one: its actor waits, in order
    assert call(b, "meanwhile") == ("meanwhile", "the-loop")
    assert seen_a == []
    release.set()
    assert call(a, "then") == ("then", "the-loop")
    assert seen_a == ["slow", "after slow", "then"]


def test_a_crash_answers_the_caller_and_the_supervisor_restarts_it(loop, start, names):
    seen: list = []
    tree = start(SupervisorSpec([ChildSpec("echo", Echo, (loop, seen), name=names("echo"))]))
    after = tree.log.last_seq
    with pytest.raises(ActorCrashed):
        call(names("echo"), Crash("boom"))
    wait_event(tree.log, "child_restarted", "echo", after=after)
    assert call(names("echo"), "again") == ("again", "the-loop")


def test_terminate_runs_on_stop(loop, start, names):
    start(SupervisorSpec([ChildSpec("dyn", DynamicSupervisorSpec(), name=names("dyn"))]))
    seen: list = []
    ref = start_child(names("dyn"), ChildSpec("e", Echo, (loop, seen), restart="temporary"))
    terminate_child(names("dyn"), ref)
    assert seen == ["terminated"] and not ref.is_alive()
