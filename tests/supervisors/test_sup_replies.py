"""`Worker.replies`: the exception types a worker answers with instead of crashing."""

from __future__ import annotations

import pytest
from supervision_kit import Probe, Refused

from supervisors import ActorCrashed, ChildSpec, SupervisorSpec, VirtualClock, call

pytestmark = pytest.mark.timeout(60)


class Outcome(Exception):
    """An application's expected outcome, not a `Rejected`."""


class Answering(Probe):
    replies = (*Probe.replies, Outcome)


def test_a_subclass_keeps_rejected_among_its_replies(start, names):
    start(SupervisorSpec([ChildSpec("w", Answering, name=names("w"))], clock=VirtualClock()))
    first = call(names("w"), "ping")
    with pytest.raises(Refused):
        call(names("w"), ("reject", "no"))
    assert call(names("w"), "ping") == first


@pytest.mark.parametrize(("worker", "crashes"), [(Probe, True), (Answering, False)])
def test_an_exception_listed_in_replies_answers_and_the_worker_lives_on(
    start, names, worker, crashes
):
    spec = ChildSpec("w", worker, name=names("w"))
    start(SupervisorSpec([spec], max_restarts=10, clock=VirtualClock()))
    first = call(names("w"), "ping")
    if crashes:
        with pytest.raises(ActorCrashed):
            call(names("w"), ("raise", Outcome("no")))
    else:
        with pytest.raises(Outcome):
            call(names("w"), ("raise", Outcome("no")))
    # The same incarnation answers again unless the exception crashed it.
    assert (call(names("w"), "ping") == first) is not crashes
