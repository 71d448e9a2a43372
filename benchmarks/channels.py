"""Channels: what idle sockets cost, how fast a push arrives, how many sockets a worker holds.

`bitnexus serve` on a fresh PostgreSQL database; the official `phoenix` client under Node
(tests/channels/client.js, one process) holds the sockets, each joined to its user's
`transaction:` topic.

- Idle sockets: transfer POSTs per second (wrk, as in the HTTP section) with no sockets
  and with 1,000 idle sockets per worker (2 workers), interleaved; RSS per idle socket.
- Push latency at 200 transfers/s with 2 workers: from the POST being sent, and from its
  answer (which follows the commit), to the recipient's callback in Node. Every push takes
  the same path, NOTIFY at the commit then LISTEN in each worker, whichever worker the
  sender's request and the recipient's socket are on; the split is reported when known.
- Sockets per worker (1 worker) in steps: the transfer rate and the worker's CPU per
  transfer at each (on a shared machine the rate drifts with other load, the CPU much less).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks import database, http, server
from tests.channels.channels_support import Node, install_client

SOCKETS_PER_WORKER = 1_000
WORKERS = 2
RATE = 200  # transfers per second for the latency run
LATENCY_SECONDS = 15
STEPS = (0, 1_000, 2_000, 4_000)  # sockets on one worker, until the rate drops 10 %
ROUNDS = 2
BATCH = 100  # sockets connected at a time
WRK_SECONDS = 6


@dataclass(frozen=True)
class Idle:
    sockets: int
    rate_without: float
    rate_with: float
    rss_without_mib: float
    rss_with_mib: float

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_with_mib - self.rss_without_mib) * 1024 / self.sockets


@dataclass(frozen=True)
class Latency:
    sent: int
    received: int
    from_request_ms: tuple[float, float]  # p50, p99
    from_answer_ms: tuple[float, float]
    achieved_rate: float


@dataclass(frozen=True)
class Step:
    sockets: int
    rate: float
    rss_mib: float
    cpu_ms: float  # the worker's CPU per answered transfer


def _pairs_file(directory: Path, ids: list[int]) -> Path:
    """wrk's transfers: lines "<sender's token> <recipient id>" between ``ids``."""
    rng = random.Random(3)
    tokens = {uid: server.user_token(uid) for uid in ids}
    lines = []
    for _ in range(5_000):
        sender, recipient = rng.sample(ids, 2)
        lines.append(f"{tokens[sender]} {recipient}\n")
    path = directory / "pairs.txt"
    path.write_text("".join(lines))
    return path


def _connect(node: Node, base: str, ids: list[int], prefix: str, events: list[str]) -> None:
    """Sockets for ``ids``, each joined; in batches, as clients arrive over time (a burst
    of thousands of upgrades at once is shed with 503s and retried)."""
    url = base.replace("http://", "ws://") + "/socket"
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        for uid in batch:
            sid = f"{prefix}{uid}"
            node.connect(sid, url, server.user_token(uid), heartbeat_ms=30_000)
            node.send(op="join", id=sid, topic=f"transaction:{uid}", events=events)
        wanted = {f"{prefix}{uid}" for uid in batch}
        node.wait_count(
            lambda e, wanted=wanted: e["type"] == "join" and e["id"] in wanted,
            len(batch),
            timeout=300,
        )


def _disconnect(node: Node, ids: list[int], prefix: str) -> None:
    for uid in ids:
        node.send(op="disconnect", id=f"{prefix}{uid}")
    node.wait_count(
        lambda e: e["type"] == "disconnected" and e["id"].startswith(prefix), len(ids), timeout=600
    )


def _transfers(base: str, pairs: Path) -> tuple[float, int]:
    """Transfers answered 201 per second, and how many (a few may be shed with 503 on a
    loaded machine; a run where most fail measures nothing and fails)."""
    run = http._wrk(base, ["transfers", str(pairs)], WRK_SECONDS)
    assert run.errors < run.requests // 2, f"{run.errors} of {run.requests} transfers failed"
    return (run.requests - run.errors) / run.seconds, run.requests - run.errors


def _transfer_rate(base: str, pairs: Path) -> float:
    return _transfers(base, pairs)[0]


def _cpu_seconds(srv: server.Server) -> float:
    """User and system CPU of the workers so far: what other load on the machine does not
    change, where it does change their rate."""
    total = 0
    for pid in srv.worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _sockets_on(srv: server.Server) -> int:
    """Sockets in every worker's tree (from /admin/supervision, which each worker answers
    for itself: asked until every worker answered)."""
    counts: dict[int, int] = {}
    for _ in range(100):
        request = urllib.request.Request(
            srv.base + "/admin/supervision",
            headers={"authorization": "Bearer benchmark-operator"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            tree = json.load(response)["data"]
        endpoint = next(c for c in tree["children"] if c["id"] == "endpoint")
        sockets = next(c for c in endpoint["children"] if c["id"] == "sockets")
        counts[tree["pid"]] = len(sockets["children"])
        if len(counts) == srv.workers:
            break
    return sum(counts.values())


def idle_sockets(url: str, ids: list[int], pairs: Path, log: Path, env: dict[str, str]) -> Idle:
    count = SOCKETS_PER_WORKER * WORKERS
    without, with_, rss_without, rss_with = [], [], [], []
    with server.serve(url, WORKERS, http.THREADS, env) as srv:
        node = Node(log)
        try:
            for n in range(ROUNDS):  # interleaved: drift hits both alike
                rss_without.append(srv.rss_mib())
                without.append(_transfer_rate(srv.base, pairs))
                prefix = f"idle{n}-"
                _connect(node, srv.base, ids[:count], prefix, [])
                assert _sockets_on(srv) == count
                time.sleep(2)  # the sockets' first heartbeats are 30 s away: idle
                rss_with.append(srv.rss_mib())
                with_.append(_transfer_rate(srv.base, pairs))
                _disconnect(node, ids[:count], prefix)
        finally:
            node.close()
    return Idle(
        count,
        statistics.mean(without),
        statistics.mean(with_),
        statistics.mean(rss_without),
        statistics.mean(rss_with),
    )


def push_latency(url: str, ids: list[int], log: Path, env: dict[str, str]) -> Latency:
    recipients, senders = ids[:200], ids[200:400]
    tokens = {uid: server.user_token(uid) for uid in senders}
    with server.serve(url, WORKERS, http.THREADS, env) as srv:
        node = Node(log)
        try:
            _connect(node, srv.base, recipients, "r", ["new_transaction"])
            sent: dict[int, tuple[float, float]] = {}  # tx id -> (request sent, answered), ms
            lock = threading.Lock()

            def transfer(k: int) -> None:
                sender, recipient = senders[k % len(senders)], recipients[k % len(recipients)]
                body = (
                    '{"transaction":{"kind":"transfer","amount":"0.01","currency":"EUR",'
                    f'"recipient_id":{recipient}}}}}'
                ).encode()
                request = urllib.request.Request(
                    srv.base + "/api/v1/transactions",
                    data=body,
                    headers={
                        "authorization": f"Bearer {tokens[sender]}",
                        "content-type": "application/json",
                    },
                )
                started = time.time() * 1000
                with urllib.request.urlopen(request, timeout=30) as response:
                    tx_id = int(response.read().split(b'"id":', 1)[1].split(b",", 1)[0])
                with lock:
                    sent[tx_id] = (started, time.time() * 1000)

            total = RATE * LATENCY_SECONDS
            began = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(32) as pool:
                done = []
                for k in range(total):  # paced: one request every 1/RATE s
                    delay = began + k / RATE - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    done.append(pool.submit(transfer, k))
            for future in done:
                future.result()  # a failed transfer fails the run
            achieved = total / (time.monotonic() - began)
            node.wait_count(lambda e: e["type"] == "message", len(sent), timeout=120)
        finally:
            node.close()
    received = {e["payload"]["id"]: e["at"] for e in node.events if e["type"] == "message"}
    from_request = sorted(received[t] - s[0] for t, s in sent.items() if t in received)
    from_answer = sorted(received[t] - s[1] for t, s in sent.items() if t in received)
    return Latency(
        len(sent),
        len(received),
        (_pct(from_request, 50), _pct(from_request, 99)),
        (_pct(from_answer, 50), _pct(from_answer, 99)),
        achieved,
    )


def sockets_per_worker(
    url: str, ids: list[int], pairs: Path, log: Path, env: dict[str, str]
) -> list[Step]:
    steps: list[Step] = []
    with server.serve(url, 1, http.THREADS, env) as srv:
        node = Node(log)
        try:
            held = 0
            for target in STEPS:
                _connect(node, srv.base, ids[held:target], "s", [])
                held = target
                time.sleep(2)
                cpu = _cpu_seconds(srv)
                rate, answered = _transfers(srv.base, pairs)
                ms = (_cpu_seconds(srv) - cpu) * 1000 / answered
                steps.append(Step(target, rate, srv.rss_mib(), ms))
                print(f"    {target} sockets: {rate:.0f}/s, {ms:.2f} ms CPU each", flush=True)
        finally:
            node.close()
    return steps


def _pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run(env: dict[str, str] | None = None) -> tuple[Idle, Latency, list[Step]]:
    """Every part against ``bitnexus serve`` with ``env`` (e.g. another checkout's
    PYTHONPATH)."""
    env = env or {}
    install_client()
    with database.fresh() as (cfg, engine), tempfile.TemporaryDirectory() as tmp:
        url = engine.url.render_as_string(hide_password=False)
        # wrk's transfers are between the first 1,000 wallets; the idle sockets belong to
        # other users, so no transfer pushes anything to them.
        ids = database.wallets(cfg, engine, 1_000 + max(STEPS[-1], SOCKETS_PER_WORKER * WORKERS))
        pairs = _pairs_file(Path(tmp), ids[:1_000])
        idle_ids = ids[1_000:]
        print("  idle sockets …", flush=True)
        idle = idle_sockets(url, idle_ids, pairs, Path(tmp) / "idle.txt", env)
        print("  push latency …", flush=True)
        latency = push_latency(url, ids, Path(tmp) / "latency.txt", env)
        print("  sockets per worker …", flush=True)
        steps = sockets_per_worker(url, idle_ids, pairs, Path(tmp) / "steps.txt", env)
    return idle, latency, steps


def markdown(idle: Idle, latency: Latency, steps: list[Step]) -> str:
    base = steps[0].rate
    held = max((s.sockets for s in steps if s.rate >= 0.9 * base), default=0)
    held_cpu = max((s.sockets for s in steps if s.cpu_ms <= steps[0].cpu_ms / 0.9), default=0)
    lines = [
        f"- {idle.sockets:,} idle sockets over {WORKERS} workers (each joined to its "
        f"`transaction:` topic): {idle.rate_with:,.0f} transfer POSTs/s against "
        f"{idle.rate_without:,.0f}/s without sockets "
        f"({idle.rate_with / idle.rate_without:.0%}; target ≥ 90 %). RSS "
        f"{idle.rss_without_mib:.0f} → {idle.rss_with_mib:.0f} MiB: "
        f"**{idle.kib_per_socket:.0f} KiB per idle socket** (target ≤ 50 KiB; a socket "
        "and its channel are two actors on the socket hub's loop).",
        f"- Push latency at {latency.achieved_rate:.0f} transfers/s ({latency.received:,} of "
        f"{latency.sent:,} pushes received), to the recipient's callback: from the POST "
        f"being sent p50 {latency.from_request_ms[0]:.1f} ms, p99 "
        f"{latency.from_request_ms[1]:.1f} ms; from its answer (after the commit) p50 "
        f"{latency.from_answer_ms[0]:.1f} ms, p99 {latency.from_answer_ms[1]:.1f} ms "
        "(target p99 ≤ 50 ms; negative: the push beat the HTTP answer).",
        "- Sockets on one worker against its transfer rate: "
        + ", ".join(
            f"{s.sockets:,}: {s.rate:,.0f}/s ({s.cpu_ms:.2f} ms CPU each, {s.rss_mib:.0f} MiB)"
            for s in steps
        )
        + f". Held within 10 % of the rate without sockets: **{held:,}**"
        + (" (the last step measured)" if held == steps[-1].sockets else "")
        + f"; by CPU per transfer (what other load does not move): **{held_cpu:,}**.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    # `--base DIR`: serve another checkout's code (`git worktree add DIR <commit>`).
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path)
    args = parser.parse_args()
    database.start()
    with database.no_outage():
        result = run({"PYTHONPATH": str(args.base.resolve())} if args.base else None)
    print(markdown(*result))
    sys.exit(0)
