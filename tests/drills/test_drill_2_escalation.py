"""Drill 2: the ledger crashed faster than its supervisor's intensity (3 in 5 s) allows,
while the bank runs. `services` gives up, the failure escalates to `root`, which restarts
`services` with every child. Then `services` itself is crashed past root's intensity:
root gives up, the worker exits non-zero and gunicorn starts a fresh one. Invariants hold."""

from __future__ import annotations

import time

from drill_chaos import not_running, supervision
from drill_check import Summary, check_bank
from drill_http import send
from drill_mode import pick
from drill_report import record
from drill_server import OPERATOR, gave_up, supervisor_reports, wait_until

ATTEMPTS = 80  # crash requests to get a worker replaced, at most: bounded
ESCALATION_DEADLINE = 60.0  # seconds of ledger crashes until both workers escalated, at most
LEDGER_CRASH = "/admin/supervision/root/services/ledger/crash"


def test_escalation_follows_the_tree(server, bank):
    rounds = int(pick(1, 4))
    bank.start(clients=6)
    summary = Summary("2 escalation")
    escalated = _crash_until_escalated(server)
    wait_until(lambda: _whole(server.base), 30, "tree whole after escalation")
    first_pids = set(server.worker_pids())
    replaced = 0
    for _ in range(rounds):
        replaced += _crash_until_replaced(server)
        wait_until(lambda: len(server.worker_pids()) == 2 and _whole(server.base), 30, "whole")
    bank.finish()
    # Each replaced worker logged its root giving up before it exited.
    roots_gave_up = gave_up(server, "root")
    check_bank(bank, server.base, summary)
    summary.figures.update(
        rounds=rounds,
        workers_that_escalated=len(escalated),
        workers_replaced=replaced,
        roots_that_gave_up=len(roots_gave_up),
        master_alive=server.live.proc.poll() is None,
    )
    if len(escalated) < 2:
        summary.violations.append(f"services gave up to root in {len(escalated)} of 2 workers")
    if replaced < rounds or not (set(server.worker_pids()) - first_pids):
        summary.violations.append(f"root gave up {rounds} times, {replaced} workers replaced")
    if len(roots_gave_up) < replaced:
        summary.violations.append(f"{replaced} workers replaced, {len(roots_gave_up)} logged why")
    if server.live.proc.poll() is not None:
        summary.violations.append("the gunicorn master exited")
    record(summary)
    assert not summary.violations


def _crash_until_escalated(server) -> set[int]:
    """Crash the ledger until both workers logged `services` giving up and root restarting
    it (the workers' supervisor reports: they outlive a worker whose root gave up too)."""
    # Which worker takes a request is the kernel's choice, often the same one for a
    # while: bounded by time, not by a number of requests.
    escalated: set[int] = set()
    deadline = time.monotonic() + ESCALATION_DEADLINE
    while time.monotonic() < deadline:
        send(server.base, "POST", LEDGER_CRASH, headers=OPERATOR)
        escalated = _restarted_by_root(server)
        if len(escalated) == 2:
            break
        time.sleep(0.05)  # a crash lands on whichever worker accepts: pacing
    return escalated


def _restarted_by_root(server) -> set[int]:
    """Pids where `services` gave up and root then restarted it."""
    pending, escalated = set(), set()
    for e in supervisor_reports(server):
        if e["kind"] == "gave_up" and e["supervisor"] == "root/services":
            pending.add(e["pid"])
        elif e["pid"] in pending and (e["supervisor"], e["child"], e["kind"]) == (
            "root",
            "services",
            "child_restarted",
        ):
            escalated.add(e["pid"])
    return escalated


def _crash_until_replaced(server) -> int:
    """Crash `services` until root gives up in a worker and gunicorn replaces it."""
    before = set(server.worker_pids())
    for _ in range(ATTEMPTS):
        send(server.base, "POST", "/admin/supervision/root/services/crash", headers=OPERATOR)
        if set(server.worker_pids()) - before:
            return len(set(server.worker_pids()) - before)
        time.sleep(0.1)  # a crash sent while services restarts finds nothing to crash
    return 0


def _whole(base: str) -> bool:
    for _ in range(8):
        tree = supervision(base)
        if tree is None or not_running(tree) or send(base, "GET", "/ready").status != 200:
            return False
    return True
