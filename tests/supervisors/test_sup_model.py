"""A stateful model test: random crashes, normal stops and supervisor operations against a
small reference model of the strategies and restart types.

After each step the test waits for the supervisor's *last expected decision* in the event
log rather than asking the supervisor: a crash is handled by the child, which then tells
the supervisor, so a ``which_children`` sent right after the crash could overtake the
exit notice. Once that event is logged, ``which_children`` (handled after the current
message) sees the settled state.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from supervision_kit import Lab, Probe, stop_tree, wait_event

from supervisors import (
    ActorCrashed,
    ChildError,
    ChildSpec,
    NoProcess,
    SupervisorSpec,
    VirtualClock,
    call,
    delete_child,
    restart_child,
    start_tree,
    terminate_child,
    which_children,
)

pytestmark = pytest.mark.timeout(90)

IDS = ("a", "b", "c", "d")
RESTARTS = ("permanent", "transient", "temporary")
STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
_runs = itertools.count()


@dataclass
class Kid:
    id: str
    restart: str
    running: bool = True
    starts: int = 1  # incarnations so far


class SupervisionModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tree = None

    # ------------------------------------------------------------ set-up and teardown

    @initialize(
        strategy=st.sampled_from(STRATEGIES),
        restarts=st.lists(st.sampled_from(RESTARTS), min_size=len(IDS), max_size=len(IDS)),
    )
    def start(self, strategy: str, restarts: list[str]) -> None:
        self.prefix = f"model{next(_runs)}-{uuid.uuid4().hex[:6]}"
        self.strategy = strategy
        self.lab = Lab()
        self.kids = [Kid(cid, r) for cid, r in zip(IDS, restarts, strict=True)]
        spec = SupervisorSpec(
            [
                ChildSpec(
                    k.id, Probe, kwargs={"lab": self.lab}, name=self.name(k.id), restart=k.restart
                )
                for k in self.kids
            ],
            strategy=strategy,
            max_restarts=1_000_000,  # intensity is tested elsewhere
            clock=VirtualClock(),
        )
        self.tree = start_tree(spec)
        self.urns: dict[str, tuple[int, str]] = {}
        self.check()

    def teardown(self) -> None:
        if self.tree is not None:
            assert stop_tree(self.tree) == "shutdown"
            for cid in IDS:
                with pytest.raises(NoProcess):
                    call(self.name(cid), "ping", timeout=1.0)

    def name(self, cid: str) -> str:
        return f"{self.prefix}.{cid}"

    def kid(self, cid: str) -> Kid | None:
        return next((k for k in self.kids if k.id == cid), None)

    # ------------------------------------------------------------ the reference model

    def exited(self, kid: Kid, abnormal: bool) -> tuple[tuple[str, str], list[tuple[str, str]]]:
        """Apply an exit to the model; return the last event the supervisor will log and
        the order in which the workers' terminate and init run."""
        first = ("child_crashed" if abnormal else "child_terminated", kid.id)
        order = [("terminate", kid.id)]
        if kid.restart == "temporary":
            self.kids.remove(kid)
            return first, order
        if kid.restart == "transient" and not abnormal:
            kid.running = False
            return first, order
        if self.strategy == "one_for_all":
            group = list(self.kids)
        elif self.strategy == "rest_for_one":
            group = self.kids[self.kids.index(kid) :]
        else:
            group = [kid]
        # OTP restarts every non-temporary member, also one an operator terminated.
        order += [("terminate", k.id) for k in reversed(group) if k is not kid and k.running]
        for other in group:
            if other is not kid and other.restart == "temporary":
                self.kids.remove(other)  # terminated as a sibling: its spec is dropped
        group = [k for k in group if k in self.kids]
        for k in group:
            k.running = True
            k.starts += 1
        order += [("init", k.id) for k in group]
        return ("child_restarted", group[-1].id), order

    # ------------------------------------------------------------ rules

    @rule(cid=st.sampled_from(IDS))
    def crash(self, cid: str) -> None:
        kid = self.kid(cid)
        if kid is None or not kid.running:
            with pytest.raises(NoProcess):
                call(self.name(cid), "ping", timeout=1.0)
            return
        seq, mark = self.tree.log.last_seq, self.lab.mark()
        with pytest.raises(ActorCrashed):
            call(self.name(cid), ("raise", RuntimeError(f"{cid} crashed")))
        self.settle(*self.exited(kid, abnormal=True), seq, mark)

    @rule(cid=st.sampled_from(IDS))
    def stop_normally(self, cid: str) -> None:
        kid = self.kid(cid)
        if kid is None or not kid.running:
            return
        seq, mark = self.tree.log.last_seq, self.lab.mark()
        assert call(self.name(cid), "stop") == "stopping"
        self.settle(*self.exited(kid, abnormal=False), seq, mark)

    @rule(cid=st.sampled_from(IDS))
    def terminate(self, cid: str) -> None:
        kid = self.kid(cid)
        if kid is None:
            self.expect_error(terminate_child, cid, "not_found")
            return
        mark = self.lab.mark()
        terminate_child(self.tree, cid)
        assert self.lab.since(mark) == ([("terminate", cid)] if kid.running else [])
        kid.running = False
        if kid.restart == "temporary":
            self.kids.remove(kid)
        self.check()

    @rule(cid=st.sampled_from(IDS))
    def restart(self, cid: str) -> None:
        kid = self.kid(cid)
        if kid is None:
            self.expect_error(restart_child, cid, "not_found")
        elif kid.running:
            self.expect_error(restart_child, cid, "running")
        else:
            mark = self.lab.mark()
            ref = restart_child(self.tree, cid)
            assert self.lab.since(mark) == [("init", cid)]
            assert ref is not None and ref.is_alive()
            kid.running = True
            kid.starts += 1
            self.check()

    @rule(cid=st.sampled_from(IDS))
    def delete(self, cid: str) -> None:
        kid = self.kid(cid)
        if kid is None:
            self.expect_error(delete_child, cid, "not_found")
        elif kid.running:
            self.expect_error(delete_child, cid, "running")
        else:
            delete_child(self.tree, cid)
            self.kids.remove(kid)
            self.check()

    # ------------------------------------------------------------ checking

    def expect_error(self, op, cid: str, reason: str) -> None:
        with pytest.raises(ChildError) as info:
            op(self.tree, cid)
        assert info.value.reason == reason
        self.check()

    def settle(
        self, last: tuple[str, str], order: list[tuple[str, str]], seq: int, mark: int
    ) -> None:
        kind, cid = last
        wait_event(self.tree.log, kind, cid, after=seq, supervisor="root")
        assert self.lab.since(mark) == order
        self.check()

    def check(self) -> None:
        which = which_children(self.tree)
        assert [w[0] for w in which] == [k.id for k in reversed(self.kids)]  # newest first
        for (cid, ref, _, _), kid in zip(which, reversed(self.kids), strict=True):
            assert self.lab.inits[cid] == kid.starts, f"{cid}: incarnations"
            if not kid.running:
                assert ref is None, f"{cid} should be stopped"
                continue
            assert ref is not None and ref.is_alive(), f"{cid} should be running"
            seen = self.urns.get(cid)
            if seen is not None:
                starts, urn = seen
                # A new incarnation exactly when the model says so.
                assert (ref.actor_urn != urn) == (kid.starts != starts), cid
            self.urns[cid] = (kid.starts, ref.actor_urn)
            assert call(self.name(cid), "ping")[2] == ref.actor_urn
        assert self.tree.running


SupervisionModel.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSupervisionModel = SupervisionModel.TestCase
