"""Drill 4: the database taken away mid-load, twice: its connections terminated
(pg_terminate_backend), then the whole PostgreSQL server stopped (3 s short, 30 s long)
while the ledger is restarted in every worker, then crashed every two seconds. During
the outage: 503 with Retry-After well within the call timeout, /health unhealthy, each
restarted ledger `degraded`, no supervisor gives up (every worker's supervisor reports).
Within 10 s of the database returning: healthy again, every node running, in the same
worker processes, nothing lost. Without the outage lock the short form skips (saying
why), the long form fails."""

from __future__ import annotations

import time

import pytest
from drill_chaos import Chaos, not_running, supervision, walk
from drill_check import Summary, check_bank
from drill_http import send
from drill_mode import is_long, pick
from drill_pg import LOCK_PATH, keep_down, outage_lock, reachable, stopped, terminate_backends
from drill_report import record
from drill_server import OPERATOR, supervisor_reports, wait_until

CALL_TIMEOUT = 5.0
LEDGER = "root/services/ledger"
ATTEMPTS = 50  # requests to reach both workers at most: bounded
RECOVERY_DEADLINE = 10.0


@pytest.mark.stops_postgres
def test_database_outage_loses_nothing(server, bank, drill_url):
    outage, clients = pick(3, 30), 8
    summary = Summary("4 database outage")
    pids = sorted(server.worker_pids())
    assert len(pids) == 2, pids
    bank.start(clients=clients)
    time.sleep(2)  # load before the first blow
    summary.figures["terminated_backends"] = terminate_backends(drill_url.rsplit("/", 1)[-1])
    time.sleep(2)  # load after it
    chaos = Chaos(server.base, rate=0.5, only=LEDGER)
    # The short form stops PostgreSQL only if no one else holds the outage lock soon
    # (`make bench` holds it while measuring); the long form waits for it.
    with outage_lock(pick(20, 600)) as held:
        if held:
            with stopped():
                restarted_in = _restart_ledger_everywhere(server.base)
                chaos.start()
                down = _observe_outage(server.base, outage, pids)
            crashes = chaos.finish()
        else:
            down, crashes = {"server_stop": f"skipped: {LOCK_PATH} held elsewhere"}, 0
        recovered = wait_until(lambda: _healthy(server.base), RECOVERY_DEADLINE * 3, "healthy")
    time.sleep(2)  # load after recovery
    bank.finish()
    check_bank(bank, server.base, summary)
    summary.figures.update(
        outage_seconds=outage,
        ledger_crashes_during_outage=crashes,
        recovered_seconds=round(recovered, 2),
        same_worker_processes=sorted(server.worker_pids()) == pids,
        **down,
    )
    v = summary.violations
    if recovered > RECOVERY_DEADLINE:
        v.append(f"healthy only {recovered:.1f} s after the database returned")
    if sorted(server.worker_pids()) != pids:
        v.append(f"worker processes replaced: {pids} -> {server.worker_pids()}")
    if not held and is_long():
        v.append("the long form could not stop PostgreSQL: the outage lock stayed held")
    if held and not down["health_probes"]:
        v.append("the database was never seen down")
    if held and restarted_in != set(pids):
        v.append(f"the ledger was restarted in {sorted(restarted_in)} of {pids} at the outage")
    if held and down["degraded_seen_in"] != pids:
        v.append(f"a restarted ledger was seen degraded only in {down['degraded_seen_in']}")
    gave_up = [e for e in supervisor_reports(server) if e["kind"] == "gave_up"]
    if gave_up:
        v.append(f"supervisors gave up: {gave_up[:3]}")
    if down.get("health_not_503"):
        v.append(f"/health answered {down['health_not_503']} times other than 503 while down")
    if bank.stats.slow_503:
        v.append(f"503s slower than the call timeout: {bank.stats.slow_503[:5]}")
    if down.get("max_503_seconds", 0) > CALL_TIMEOUT / 2:
        v.append(f"a 503 took {down.get('max_503_seconds')} s")
    trees = _every_workers_tree(server.base, pids)
    broken = {pid: not_running(tree) for pid, tree in trees.items() if not_running(tree)}
    if sorted(trees) != pids or broken:
        v.append(f"trees not whole after the outage: {broken}, seen {sorted(trees)}")
    record(summary)
    assert not v
    if not held:
        pytest.skip(f"PostgreSQL was not stopped: {LOCK_PATH} held elsewhere for 20 s")


def _restart_ledger_everywhere(base: str) -> set[int]:
    """Restart the ledger (an operator restart: no restart intensity spent, however often
    one worker is hit) until each worker's was restarted with the database away, so each
    must start degraded. The pids it was restarted in."""
    restarted: set[int] = set()
    for _ in range(ATTEMPTS):
        answer = send(base, "POST", f"/admin/supervision/{LEDGER}/restart", headers=OPERATOR)
        if answer.status == 200:
            restarted.add(answer.body["data"]["pid"])
        if len(restarted) == 2:
            break
    return restarted


def _observe_outage(base: str, seconds: float, pids: list[int]) -> dict[str, object]:
    """Probe /health and the tree for `seconds` while the database is down, and longer
    (bounded) until each worker's ledger was seen degraded. PostgreSQL is kept down if
    another process starts it meanwhile; only probes with it down both sides count."""
    health_not_503, slowest, probes, restarted = 0, 0.0, 0, 0
    degraded: set[int] = set()
    started = time.monotonic()
    while time.monotonic() - started < seconds or (
        degraded != set(pids) and time.monotonic() - started < 3 * seconds
    ):
        restarted += keep_down()
        health = send(base, "GET", "/health")
        tree = supervision(base)
        if reachable():
            continue  # came back during the probe: this answer proves nothing
        probes += 1
        if health.status != 503 or health.body.get("status") != "unhealthy":
            health_not_503 += 1
        if health.status == 503:
            slowest = max(slowest, health.seconds)
        ledger = tree and next((n for n in walk(tree) if n["path"] == LEDGER), None)
        if ledger and ledger["status"] == "degraded":
            degraded.add(tree["pid"])
        time.sleep(0.2)  # probing pace
    return {
        "health_probes": probes,
        "health_not_503": health_not_503,
        "max_503_seconds": round(slowest, 3),
        "restarted_by_others": restarted,
        "degraded_seen_in": sorted(degraded),
    }


def _every_workers_tree(base: str, pids: list[int]) -> dict[int, dict]:
    """The tree of each worker (requests land on either: asked until both answered)."""
    trees: dict[int, dict] = {}
    for _ in range(ATTEMPTS):
        tree = supervision(base)
        if tree is not None:
            trees[tree["pid"]] = tree
        if sorted(trees) == pids:
            break
    return trees


def _healthy(base: str) -> bool:
    """Ten healthy answers in a row (both workers) and the tree running everywhere."""
    for _ in range(10):
        if send(base, "GET", "/health").status != 200:
            return False
        if send(base, "GET", "/ready").status != 200:
            return False
    return True
