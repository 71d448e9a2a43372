"""Drill 1: random actors (the ledger, pools and their members) crashed several times a
second while the bank workload runs. The tree is whole again afterwards, the invariants
hold, and only calls that were inside a crashed actor fail; their retries post once."""

from __future__ import annotations

import time

from drill_chaos import Chaos, not_running, supervision, walk
from drill_check import Summary, check_bank
from drill_http import send
from drill_mode import pick
from drill_report import record
from drill_server import wait_until


def test_actor_crashes_lose_nothing(server, bank):
    seconds, rate, clients = pick(6, 60), pick(4, 6), 8
    chaos = Chaos(server.base, rate)
    bank.start(clients=clients)
    chaos.start()
    time.sleep(seconds)  # the drill's duration: load and chaos run meanwhile
    crashes = chaos.finish()
    bank.finish()
    # Whole again: every worker process answers ready with every node running.
    wait_until(lambda: _ready_everywhere(server.base), 30, "tree whole again")
    escalations = _escalations(server.base)
    summary = check_bank(bank, server.base, Summary("1 actor crashes"))
    failed = sum(n for status, n in bank.stats.statuses.items() if status != 201)
    failed -= bank.stats.refused
    summary.figures.update(
        seconds=seconds,
        clients=clients,
        crashes_injected=crashes,
        crashed=dict(chaos.injected),
        worker_pids_crashed=len(chaos.workers),
        max_rss_mib=round(server.rss_kib() / 1024, 1),
        escalations=escalations,
    )
    if crashes < seconds * rate / 3:
        summary.violations.append(f"only {crashes} crashes injected")
    # A crash fails the calls inside or queued at that actor: at most every client's.
    if failed > crashes * clients:
        summary.violations.append(f"{failed} failed requests for {crashes} crashes")
    bad = {s for s in bank.stats.statuses if s not in (201, 422, 500, 503)}
    if bad:
        summary.violations.append(f"statuses no crash explains: {sorted(map(str, bad))}")
    record(summary)
    assert not summary.violations


def _ready_everywhere(base: str) -> bool:
    """Ten answers in a row from /ready and the tree: both workers get asked."""
    for _ in range(10):
        if send(base, "GET", "/ready").status != 200:
            return False
        tree = supervision(base)
        if tree is None or not_running(tree):
            return False
    return True


def _escalations(base: str) -> dict[int, int]:
    """Per worker: how often a crash spread past its supervisor (services restarted by
    root, or a pool restarted by services) - more than the crashed actor failed then."""
    seen: dict[int, int] = {}
    for _ in range(10):
        tree = supervision(base)
        if tree is None:
            continue
        spread = sum(
            n["restarts"]["total"]
            for n in walk(tree)
            if n["kind"] in ("supervisor", "pool")
            and n["path"] != "root"
            and (n["last_crash"] or {}).get("type") == "Shutdown"
        )
        seen[tree["pid"]] = spread
    return seen
