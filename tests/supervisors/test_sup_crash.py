"""Point 1: let it crash, with OTP's meaning."""

from __future__ import annotations

import threading

import pytest
from supervision_kit import WAIT, Block, Fatal, Probe, Refused, in_thread, outcome, wait_event

from supervisors import (
    ActorCrashed,
    ChildSpec,
    SupervisorSpec,
    call,
    cast,
    crash,
    whereis,
)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pair(start, lab, names):
    """A tree with two independent workers, a and b."""
    spec = SupervisorSpec(
        [
            ChildSpec("a", Probe, kwargs={"lab": lab}, name=names("a")),
            ChildSpec("b", Probe, kwargs={"lab": lab}, name=names("b")),
        ],
        max_restarts=100,
    )
    return start(spec)


def urn(name: str) -> str:
    return call(name, "ping")[2]


def test_an_asked_crash_raises_actor_crashed_with_the_cause_and_restarts(pair, names):
    a = names("a")
    before = urn(a)
    seq = pair.log.last_seq
    error = KeyError("no such key")

    with pytest.raises(ActorCrashed) as info:
        call(a, ("raise", error))

    assert info.value.__cause__ is error
    crashed = wait_event(pair.log, "child_crashed", "a", after=seq)
    assert "KeyError" in crashed.reason
    wait_event(pair.log, "child_restarted", "a", after=crashed.seq)
    assert urn(a) != before


@pytest.mark.parametrize("send", ["cast", "pykka_tell", "crash"])
def test_a_told_crash_crashes_and_restarts_the_actor(pair, names, send):
    a = names("a")
    before = urn(a)
    seq = pair.log.last_seq
    if send == "cast":
        cast(a, ("raise", ValueError("told")))
    elif send == "pykka_tell":  # a plain Pykka tell takes Pykka's on_failure path
        whereis(a).tell(("raise", ValueError("told")))
    else:
        crash(a, "drill")

    crashed = wait_event(pair.log, "child_crashed", "a", after=seq)
    assert ("drill" if send == "crash" else "ValueError") in crashed.reason
    wait_event(pair.log, "child_restarted", "a", after=crashed.seq)
    assert urn(a) != before
    assert pair.tree()["children"][0]["restarts"]["total"] == 1


def test_every_queued_caller_gets_actor_crashed_at_once_with_the_cause(pair, names):
    a = names("a")
    ref = whereis(a)
    inbox = ref.actor_inbox
    error = ZeroDivisionError("boom")
    block = Block(release=threading.Event(), then=error)
    crashing = in_thread(lambda: call(a, block, timeout=20))
    assert block.entered.wait(WAIT)

    queued_count = 5
    all_queued = inbox.when_puts(inbox.puts + queued_count)
    queued = [in_thread(lambda i=i: call(a, ("echo", i), timeout=20)) for i in range(queued_count)]
    assert all_queued.wait(WAIT)

    block.release.set()

    first = outcome(crashing)
    assert isinstance(first, ActorCrashed)
    assert first.__cause__ is error
    for future in queued:
        result = outcome(future)
        assert isinstance(result, ActorCrashed), result
        assert result.__cause__ is error
        assert result.reason is error  # told by the crash, not left to the 20 s timeout


def test_a_queued_call_is_not_resent_to_the_next_incarnation_after_a_crash(pair, names, lab):
    """A caller whose message was queued when the actor crashed is told so; the new
    incarnation never sees the message (OTP: the caller's monitor fires)."""
    a = names("a")
    ref = whereis(a)
    block = Block(release=threading.Event(), then=RuntimeError("x"))
    crashing = ref.ask(block, block=False)
    assert block.entered.wait(WAIT)
    queued = ref.ask(("raise", AssertionError("must never run")), block=False)
    seq = pair.log.last_seq
    block.release.set()

    with pytest.raises(ActorCrashed):
        crashing.get(timeout=WAIT)
    with pytest.raises(ActorCrashed):
        queued.get(timeout=WAIT)
    wait_event(pair.log, "child_restarted", "a", after=seq)
    # Only the one crash: the queued message never ran in any incarnation.
    assert [e.kind for e in pair.log.since(seq)].count("child_crashed") == 1


def test_rejected_is_a_reply_and_does_not_crash(pair, names):
    a = names("a")
    before = urn(a)
    seq = pair.log.last_seq
    ref = whereis(a)
    block = Block(release=threading.Event())
    blocked = ref.ask(block, block=False)
    assert block.entered.wait(WAIT)
    refused = ref.ask(("reject", "insufficient funds"), block=False)
    after = ref.ask(("echo", "still here"), block=False)
    block.release.set()

    assert blocked.get(timeout=WAIT) == ("released", "a")
    with pytest.raises(Refused, match="insufficient funds"):
        refused.get(timeout=WAIT)
    assert after.get(timeout=WAIT) == "still here"
    with pytest.raises(Refused):
        call(a, ("reject", "again"))
    assert urn(a) == before
    assert not [e for e in pair.log.since(seq) if e.kind == "child_crashed"]


@pytest.mark.parametrize(
    "error",
    [SystemExit(3), KeyboardInterrupt(), Fatal("fatal"), GeneratorExit()],
    ids=["SystemExit", "KeyboardInterrupt", "BaseException", "GeneratorExit"],
)
def test_a_base_exception_crashes_only_its_own_actor(pair, names, error):
    a, b = names("a"), names("b")
    b_before = urn(b)
    seq = pair.log.last_seq

    with pytest.raises(ActorCrashed) as info:
        call(a, ("raise", error))

    assert info.value.__cause__ is error
    wait_event(pair.log, "child_restarted", "a", after=seq)
    # Pykka's default would have stopped every actor; here b and the supervisor live on.
    assert urn(b) == b_before
    assert call(b, ("echo", 1)) == 1
    assert call(a, ("echo", 2)) == 2
    assert pair.running
    assert [e.kind for e in pair.log.since(seq)] == ["child_crashed", "child_restarted"]


def test_a_base_exception_in_a_told_message_crashes_only_its_own_actor(pair, names):
    a, b = names("a"), names("b")
    b_before = urn(b)
    seq = pair.log.last_seq
    whereis(a).tell(("raise", SystemExit(1)))
    wait_event(pair.log, "child_restarted", "a", after=seq)
    assert urn(b) == b_before
    assert pair.running


class WithMethod(Probe):
    def explode(self) -> None:
        raise SystemExit(5)


def test_a_base_exception_in_a_pykka_proxy_call_does_not_stop_other_actors(start, lab, names):
    """Pykka stops every actor in the process on a BaseException from a proxy call."""
    tree = start(
        SupervisorSpec(
            [
                ChildSpec("p", WithMethod, kwargs={"lab": lab}, name=names("p")),
                ChildSpec("q", Probe, kwargs={"lab": lab}, name=names("q")),
            ]
        )
    )
    other = start(
        SupervisorSpec([ChildSpec("r", Probe, kwargs={"lab": lab}, name=names("r"))]),
        root_id="other",
    )
    q_before = urn(names("q"))
    seq = tree.log.last_seq

    future = whereis(names("p")).proxy().explode()

    with pytest.raises(ActorCrashed) as info:
        future.get(timeout=WAIT)
    assert isinstance(info.value.__cause__, SystemExit)
    wait_event(tree.log, "child_restarted", "p", seq)
    assert tree.running and other.running
    assert urn(names("q")) == q_before
    assert call(names("r"), ("echo", 1)) == 1
