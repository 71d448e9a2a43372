"""Drill 4: the database taken away mid-load, twice: its connections terminated
(pg_terminate_backend), then the whole PostgreSQL server stopped (3 s short, 30 s long)
while the ledger is crashed every two seconds. During the outage: 503 with Retry-After
well within the call timeout, /health unhealthy, no supervisor gives up. Within 10 s of
the database returning: healthy again, in the same worker processes, nothing lost."""

from __future__ import annotations

import time

from drill_chaos import Chaos, not_running, supervision
from drill_check import Summary, check_bank
from drill_http import send
from drill_mode import is_long, pick
from drill_pg import LOCK_PATH, keep_down, outage_lock, reachable, stopped, terminate_backends
from drill_report import record
from drill_server import wait_until

CALL_TIMEOUT = 5.0
RECOVERY_DEADLINE = 10.0


def test_database_outage_loses_nothing(server, bank, drill_url):
    outage, clients = pick(3, 30), 8
    summary = Summary("4 database outage")
    pids = sorted(server.worker_pids())
    assert len(pids) == 2, pids
    bank.start(clients=clients)
    time.sleep(2)  # load before the first blow
    summary.figures["terminated_backends"] = terminate_backends(drill_url.rsplit("/", 1)[-1])
    time.sleep(2)  # load after it
    chaos = Chaos(server.base, rate=0.5, only="root/services/ledger")
    # The short form stops PostgreSQL only if no one else holds the outage lock soon
    # (`make bench` holds it while measuring); the long form waits for it.
    with outage_lock(pick(20, 600)) as held:
        if held:
            with stopped():
                chaos.start()
                down = _observe_outage(server.base, outage)
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
    if down.get("health_not_503"):
        v.append(f"/health answered {down['health_not_503']} times other than 503 while down")
    if bank.stats.slow_503:
        v.append(f"503s slower than the call timeout: {bank.stats.slow_503[:5]}")
    if down.get("max_503_seconds", 0) > CALL_TIMEOUT / 2:
        v.append(f"a 503 took {down.get('max_503_seconds')} s")
    tree = supervision(server.base)
    if tree is None or not_running(tree):
        v.append(f"tree not whole after the outage: {tree and not_running(tree)}")
    record(summary)
    assert not v


def _observe_outage(base: str, seconds: float) -> dict[str, object]:
    """Probe /health for `seconds` while the database is down (kept down if another
    process starts it meanwhile; only probes with the database down both sides count)."""
    health_not_503, slowest, probes, restarted = 0, 0.0, 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        restarted += keep_down()
        health = send(base, "GET", "/health")
        if reachable():
            continue  # came back during the probe: this answer proves nothing
        probes += 1
        if health.status != 503 or health.body.get("status") != "unhealthy":
            health_not_503 += 1
        if health.status == 503:
            slowest = max(slowest, health.seconds)
        time.sleep(0.2)  # probing pace
    return {
        "health_probes": probes,
        "health_not_503": health_not_503,
        "max_503_seconds": round(slowest, 3),
        "restarted_by_others": restarted,
    }


def _healthy(base: str) -> bool:
    """Ten healthy answers in a row (both workers) and the tree running everywhere."""
    for _ in range(10):
        if send(base, "GET", "/health").status != 200:
            return False
        if send(base, "GET", "/ready").status != 200:
            return False
    return True
