"""Channels: what idle sockets cost, how fast a push arrives, how many sockets a worker holds.

`bitnexus serve` on a fresh PostgreSQL database; the official `phoenix` client under Node
(tests/channels/client.js, one process) holds the sockets, each joined to its user's
`transaction:` topic.

- Idle sockets: transfer POSTs per second (wrk, as in the HTTP section) with no sockets
  and with 1,000 idle sockets per worker (2 workers), interleaved; RSS per idle socket.
- Push latency at 200 transfers/s with 2 workers, to the recipient's callback in Node,
  bounded from both sides: from the POST's answer (after the commit: a lower bound) and
  from the later of the POST being sent and the transaction's `inserted_at` (both before
  the commit: an upper bound). Every push takes the same path, NOTIFY at the commit then
  LISTEN in each worker, whichever worker the sender's request and the recipient's socket
  are on.
- Sockets per worker (1 worker): each step between two runs without sockets, its transfer
  rate and the worker's CPU per transfer compared with theirs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime as dt
import itertools
import json
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from benchmarks import database, http, server
from tests.channels.channels_support import Node, install_client

WORKERS = 2
RATE = 200  # transfers per second for the latency run
BATCH = 100  # sockets connected at a time
HELD = 0.9  # a worker holds N sockets while its rate stays within 10 % of none
FD_HEADROOM = 1_000  # descriptors a worker or Node needs besides the sockets
SETTLE_SECONDS = 60.0  # for the server to count the sockets just (dis)connected


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much each part measures; `QUICK` only proves the code runs."""

    sockets_per_worker: int = 1_000
    steps: tuple[int, ...] = (1_000, 2_000, 4_000, 8_000)  # sockets on one worker
    rounds: int = 2
    latency_seconds: int = 15
    wrk_seconds: int = 6


FULL = Sizes()
QUICK = Sizes(sockets_per_worker=50, steps=(100, 200), rounds=1, latency_seconds=3, wrk_seconds=2)


@dataclasses.dataclass(frozen=True)
class Run:
    """One wrk run of transfers while ``sockets`` idle sockets are held."""

    sockets: int
    rate: float  # transfers answered 201 per second
    cpu_ms: float  # the workers' CPU per answered transfer
    rss_mib: float  # the workers' RSS with the sockets, before the transfers


@dataclasses.dataclass(frozen=True)
class Idle:
    without: list[Run]
    with_: list[Run]

    @property
    def sockets(self) -> int:
        return self.with_[0].sockets

    @property
    def rate_without(self) -> float:
        return statistics.mean(r.rate for r in self.without)

    @property
    def rate_with(self) -> float:
        return statistics.mean(r.rate for r in self.with_)

    @property
    def rss_without_mib(self) -> float:
        return statistics.mean(r.rss_mib for r in self.without)

    @property
    def rss_with_mib(self) -> float:
        return statistics.mean(r.rss_mib for r in self.with_)

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_with_mib - self.rss_without_mib) * 1024 / self.sockets


Percentiles = tuple[float, float]  # p50, p99 in ms


@dataclasses.dataclass(frozen=True)
class Latency:
    sent: int
    received: int
    from_answer_ms: Percentiles  # after the commit: a lower bound
    upper_ms: Percentiles  # from the later of the next two, both before the commit
    from_request_ms: Percentiles
    from_inserted_ms: Percentiles  # `inserted_at` has whole seconds
    achieved_rate: float


@dataclasses.dataclass(frozen=True)
class Step:
    """A run with sockets between the runs without sockets right before and after it."""

    before: Run
    held: Run
    after: Run

    @property
    def sockets(self) -> int:
        return self.held.sockets

    @property
    def rate_without(self) -> float:
        return (self.before.rate + self.after.rate) / 2

    @property
    def cpu_ms_without(self) -> float:
        return (self.before.cpu_ms + self.after.cpu_ms) / 2

    @property
    def rate_ratio(self) -> float:
        return self.held.rate / self.rate_without

    @property
    def cpu_ratio(self) -> float:
        return self.held.cpu_ms / self.cpu_ms_without


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


_prefixes = itertools.count()  # each batch of sockets its own ids in the Node client


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


def _transfers(base: str, pairs: Path, seconds: int) -> tuple[float, int]:
    """Transfers answered 201 per second, and how many (a few may be shed with 503 on a
    loaded machine; a run where most fail measures nothing and fails)."""
    run = http._wrk(base, ["transfers", str(pairs)], seconds)
    assert run.errors < run.requests // 2, f"{run.errors} of {run.requests} transfers failed"
    return (run.requests - run.errors) / run.seconds, run.requests - run.errors


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


def _settle(srv: server.Server, count: int) -> None:
    """Until the server holds ``count`` sockets: a closed socket leaves the tree a moment
    after its client heard the close (an external process, polled up to a deadline)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while (held := _sockets_on(srv)) != count:
        assert time.monotonic() < deadline, f"the server holds {held} sockets, not {count}"
        time.sleep(0.2)


def _run_holding(srv: server.Server, node: Node, ids: list[int], pairs: Path, seconds: int) -> Run:
    """Connect a socket for each of ``ids`` (none for no ids), let them idle, run wrk's
    transfers, disconnect them all: the server is back to no sockets afterwards."""
    prefix = f"b{next(_prefixes)}-"
    _connect(node, srv.base, ids, prefix, [])
    _settle(srv, len(ids))
    if ids:
        time.sleep(2)  # the sockets' first heartbeats are 30 s away: idle
    rss = srv.rss_mib()
    cpu = srv.cpu_seconds()
    rate, answered = _transfers(srv.base, pairs, seconds)
    run = Run(len(ids), rate, (srv.cpu_seconds() - cpu) * 1000 / answered, rss)
    _disconnect(node, ids, prefix)
    _settle(srv, 0)
    return run


def idle_sockets(
    url: str, ids: list[int], pairs: Path, log: Path, env: dict[str, str], sizes: Sizes
) -> Idle:
    held = ids[: sizes.sockets_per_worker * WORKERS]
    without, with_ = [], []
    with server.serve(url, WORKERS, http.THREADS, env) as srv:
        node = Node(log)
        try:
            for _ in range(sizes.rounds):  # interleaved: drift hits both alike
                without.append(_run_holding(srv, node, [], pairs, sizes.wrk_seconds))
                with_.append(_run_holding(srv, node, held, pairs, sizes.wrk_seconds))
        finally:
            node.close()
    return Idle(without, with_)


class _Push(NamedTuple):
    """One push's times, ms since the epoch on the system clock (the benchmark's, the
    server's and Node's are one)."""

    received: float  # the recipient's callback in Node
    requested: float  # the POST sent
    answered: float  # its answer read
    inserted: float  # the transaction's `inserted_at`


def _epoch_ms(timestamp: str) -> float:
    return dt.datetime.fromisoformat(timestamp).timestamp() * 1000


def push_latency(url: str, ids: list[int], log: Path, env: dict[str, str], sizes: Sizes) -> Latency:
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

            total = RATE * sizes.latency_seconds
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
    pushes = {e["payload"]["id"]: e for e in node.events if e["type"] == "message"}
    samples = [
        _Push(pushes[t]["at"], request, answer, _epoch_ms(pushes[t]["payload"]["inserted_at"]))
        for t, (request, answer) in sent.items()
        if t in pushes
    ]

    def since(start: Callable[[_Push], float]) -> Percentiles:
        values = sorted(p.received - start(p) for p in samples)
        return _pct(values, 50), _pct(values, 99)

    return Latency(
        len(sent),
        len(pushes),
        from_answer_ms=since(lambda p: p.answered),
        upper_ms=since(lambda p: max(p.requested, p.inserted)),
        from_request_ms=since(lambda p: p.requested),
        from_inserted_ms=since(lambda p: p.inserted),
        achieved_rate=achieved,
    )


def sockets_per_worker(
    url: str, ids: list[int], pairs: Path, log: Path, env: dict[str, str], sizes: Sizes
) -> list[Step]:
    """Each step between runs without sockets (shared with the next step): the ledger's
    growth and the machine's drifting load hit a step and what it is compared with alike."""
    steps: list[Step] = []
    with server.serve(url, 1, http.THREADS, env) as srv:
        node = Node(log)
        try:
            before = _run_holding(srv, node, [], pairs, sizes.wrk_seconds)
            for count in sizes.steps:
                held = _run_holding(srv, node, ids[:count], pairs, sizes.wrk_seconds)
                after = _run_holding(srv, node, [], pairs, sizes.wrk_seconds)
                step = Step(before, held, after)
                steps.append(step)
                print(
                    f"    {count} sockets: {held.rate:.0f}/s against {before.rate:.0f} and "
                    f"{after.rate:.0f}/s without ({step.rate_ratio:.0%}); {held.cpu_ms:.2f} ms "
                    f"CPU each against {step.cpu_ms_without:.2f}",
                    flush=True,
                )
                before = after
        finally:
            node.close()
    return steps


def _pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _socket_room() -> int:
    """The sockets one process may hold: the open-file limit raised to its hard limit
    first (the server and Node, started from here, inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft - FD_HEADROOM


def run(env: dict[str, str] | None = None, sizes: Sizes = FULL) -> tuple[Idle, Latency, list[Step]]:
    """Every part against ``bitnexus serve`` with ``env`` (e.g. another checkout's
    PYTHONPATH)."""
    env = env or {}
    room = _socket_room()
    fits = tuple(n for n in sizes.steps if n <= room)
    if fits != sizes.steps:
        print(f"  open files allow {room:,} sockets: steps {fits}", flush=True)
    sizes = dataclasses.replace(sizes, steps=fits)
    install_client()
    with database.fresh() as (cfg, engine), tempfile.TemporaryDirectory() as tmp:
        url = engine.url.render_as_string(hide_password=False)
        # wrk's transfers are between the first 1,000 wallets; the idle sockets belong to
        # other users, so no transfer pushes anything to them.
        held = max((*sizes.steps, sizes.sockets_per_worker * WORKERS))
        ids = database.wallets(cfg, engine, 1_000 + held)
        pairs = _pairs_file(Path(tmp), ids[:1_000])
        idle_ids = ids[1_000:]
        print("  idle sockets …", flush=True)
        idle = idle_sockets(url, idle_ids, pairs, Path(tmp) / "idle.txt", env, sizes)
        print("  push latency …", flush=True)
        latency = push_latency(url, ids, Path(tmp) / "latency.txt", env, sizes)
        print("  sockets per worker …", flush=True)
        steps = sockets_per_worker(url, idle_ids, pairs, Path(tmp) / "steps.txt", env, sizes)
    return idle, latency, steps


def _held(steps: list[Step], within: Callable[[Step], bool]) -> int:
    """The most sockets for which this step and every smaller one are ``within``."""
    held = 0
    for step in steps:
        if not within(step):
            break
        held = step.sockets
    return held


def markdown(idle: Idle, latency: Latency, steps: list[Step]) -> str:
    by_rate = _held(steps, lambda s: s.rate_ratio >= HELD)
    by_cpu = _held(steps, lambda s: s.cpu_ratio <= 1 / HELD)
    last = steps[-1].sockets if steps else 0
    lines = [
        f"- {idle.sockets:,} idle sockets over {WORKERS} workers (each joined to its "
        f"`transaction:` topic), alternating with runs without sockets ({len(idle.with_)} "
        f"of each): {idle.rate_with:,.0f} transfer POSTs/s against "
        f"{idle.rate_without:,.0f}/s without sockets "
        f"({idle.rate_with / idle.rate_without:.0%}; target ≥ 90 %). RSS "
        f"{idle.rss_without_mib:.0f} → {idle.rss_with_mib:.0f} MiB: "
        f"**{idle.kib_per_socket:.0f} KiB per idle socket** (target ≤ 50 KiB; a socket "
        "and its channel are two actors on the socket hub's loop).",
        f"- Push latency at {latency.achieved_rate:.0f} transfers/s, {WORKERS} workers "
        f"({latency.received:,} of {latency.sent:,} pushes received), from the commit to "
        "the recipient's callback in Node (one system clock for the benchmark, the server "
        "and Node): at least p50 "
        f"{latency.from_answer_ms[0]:.1f} ms, p99 **{latency.from_answer_ms[1]:.1f} ms**, "
        "measured from the POST's answer, which follows the commit (negative: the push beat "
        f"the answer); at most p50 {latency.upper_ms[0]:.1f} ms, p99 "
        f"**{latency.upper_ms[1]:.1f} ms**, measured from the later of the POST being sent "
        "and the transaction's `inserted_at`, both before the commit (target p99 ≤ 50 ms). "
        "The request's own time in the server widens the upper bound: from the POST being "
        f"sent alone p50 {latency.from_request_ms[0]:.1f} ms, p99 "
        f"{latency.from_request_ms[1]:.1f} ms; `inserted_at` is taken as the block is "
        "built, before its commit, but in whole seconds (as Ecto's `:utc_datetime`), so "
        f"alone it gives p50 {latency.from_inserted_ms[0]:.0f} ms, p99 "
        f"{latency.from_inserted_ms[1]:.0f} ms and tightens the bound only when a second "
        "begins between the POST and its block. Sender and recipient on different workers "
        "need no selection: on PostgreSQL every push crosses NOTIFY, sent by the block's "
        "commit and heard by every worker's listener, its own included, so a push to a "
        "socket on the committing worker takes the same path as one to the other worker.",
        "- Sockets held by one worker: each step is measured between two runs without "
        "sockets (connect the sockets and join them, let them idle 2 s, run wrk, "
        "disconnect every socket, run wrk again), so the ledger's growth and the "
        "machine's drifting load hit a step and what it is compared with alike. Sockets: "
        "transfers/s with them against the mean of the runs just before and after (ratio), "
        "the worker's CPU per transfer with and without, its RSS with them: "
        + "; ".join(
            f"{s.sockets:,}: {s.held.rate:,.0f}/s against {s.before.rate:,.0f} and "
            f"{s.after.rate:,.0f} ({s.rate_ratio:.0%}), {s.held.cpu_ms:.2f} against "
            f"{s.cpu_ms_without:.2f} ms CPU ({s.cpu_ratio:.2f}×), {s.held.rss_mib:.0f} MiB"
            for s in steps
        )
        + f". Held with the rate ≥ 90 % of its neighbours at that step and every smaller "
        f"one: **{by_rate:,}**"
        + (" (the most measured)" if by_rate == last else "")
        + f"; with the CPU per transfer within 1/0.9 of theirs (what other load moves "
        f"least): **{by_cpu:,}**" + (" (the most measured)" if by_cpu == last else "") + ".",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    # `--base DIR`: serve another checkout's code (`git worktree add DIR <commit>`).
    # `--quick`: a few sockets for seconds, only to prove the code runs.
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    database.start()
    with database.no_outage():
        result = run(
            {"PYTHONPATH": str(args.base.resolve())} if args.base else None,
            QUICK if args.quick else FULL,
        )
    print(markdown(*result))
    sys.exit(0)
