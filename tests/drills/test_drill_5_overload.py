"""Drill 5: ten times more concurrent clients than server threads. Excess requests get a
quick 503 with Retry-After instead of piling up, resident memory stays bounded, and once
the load drops latency is back to normal (measured by a probe in a process of its own)."""

from __future__ import annotations

import statistics
import threading

import pytest
from drill_bank import Bank
from drill_check import Summary, check_bank
from drill_mode import pick
from drill_probe import Probe
from drill_report import record
from drill_server import DrillServer

from bitnexus.config import Config

THREADS = int(pick(4, 16))  # per worker; two workers
WORKERS = 2


@pytest.fixture
def server(drill_url, drill_engine, tmp_path):
    # The production default: the drill shows how it sheds (other drills' servers wait longer).
    shed_after = {"BITNEXUS_MAX_QUEUE_WAIT": str(Config(database_url=drill_url).max_queue_wait)}
    srv = DrillServer(drill_url, tmp_path, workers=WORKERS, threads=THREADS, env=shed_after)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_overload_is_shed_quickly(server, drill_engine):
    seconds = pick(6, 30)
    clients = 10 * THREADS * WORKERS
    bank = Bank(lambda: server.base, drill_engine, users=16)
    bank.open_accounts()
    # Latency is measured by a probe in its own process: the load's client threads, in
    # this process, would add their own waits for the GIL to what they measure.
    reader = bank.users[0]
    probe_path = f"/api/v1/users/{reader.id}/balances"
    before = _admitted(Probe(server.base, probe_path, reader.token, pick(2, 3)).result())
    rss = _RssSampler(server)
    rss.start()
    heavy = Bank(lambda: server.base, drill_engine, users=0)  # shares the funded users
    heavy.users, heavy.stats, heavy.size = bank.users, bank.stats, bank.size
    heavy.start(clients=clients, readers=1)
    during_probe = Probe(server.base, probe_path, reader.token, seconds)
    during_samples = during_probe.result()  # the overload lasts as long as the probe
    heavy.finish()
    during = _admitted(during_samples)
    after = _admitted(Probe(server.base, probe_path, reader.token, pick(2, 3)).result())
    rss.finish()
    bank.problems += heavy.problems
    bank.snapshots += heavy.snapshots
    summary = check_bank(bank, server.base, Summary("5 overload"))
    shed = list(bank.stats.shed)
    summary.figures.update(
        seconds=seconds,
        server_threads=THREADS * WORKERS,
        clients=clients,
        probe_requests_during=len(during_samples),
        probe_shed_during=sum(status == 503 for status, _ in during_samples),
        p50_before_ms=_ms(statistics.median(before)),
        p50_after_ms=_ms(statistics.median(after)),
        p99_during_ms=_ms(_p99(during)),
        shed_503=len(shed),
        p99_503_ms=_ms(_p99(shed)) if shed else None,
        rss_before_mib=rss.first_mib,
        max_rss_mib=rss.max_mib,
    )
    v = summary.violations
    if not shed:
        v.append("nothing was shed: excess requests queued instead")
    elif _p99(shed) > 1.0:
        v.append(f"shedding is slow: p99 of the 503s {_p99(shed):.2f} s")
    if not during:
        v.append("the probe got no request through during the overload")
    elif _p99(during) > 3.0:
        v.append(f"requests piled up: p99 {_p99(during):.2f} s under overload")
    if rss.max_mib > rss.first_mib + 256:
        v.append(f"memory grew from {rss.first_mib} to {rss.max_mib} MiB")
    if statistics.median(after) > 3 * statistics.median(before) + 0.05:
        v.append("latency did not return to normal after the overload")
    record(summary)
    assert not v


def _admitted(samples: list[tuple[int | str, float]]) -> list[float]:
    """The latencies of the requests the server admitted and answered."""
    return [seconds for status, seconds in samples if status == 200]


def _p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)] if values else 0.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class _RssSampler:
    """The server's resident memory every 200 ms: the figure this drill is about."""

    def __init__(self, server: DrillServer) -> None:
        self.server = server
        self.first_mib = round(server.rss_kib() / 1024, 1)
        self.max_mib = self.first_mib
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.2):  # sampling pace
            self.max_mib = max(self.max_mib, round(self.server.rss_kib() / 1024, 1))
