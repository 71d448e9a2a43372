"""Channels: what idle sockets cost, how fast a push arrives, how many sockets a worker holds.

`bitnexus serve` on a fresh PostgreSQL database; the official `phoenix` client under Node
(tests/channels/client.js, one process) holds the sockets, each joined to its user's
`transaction:` topic.

- Idle sockets: transfer POSTs per second (wrk, as in the HTTP section) with 1,000 idle
  sockets per worker (2 workers), each run between two runs without sockets (shared with
  the next), as the sockets-per-worker steps are; the workers' CPU per transfer beside
  the rates; RSS per idle socket.
- Push latency at 200 transfers/s with 2 workers, to the recipient's callback in Node,
  over the transfers whose sender and recipient are on different workers: the POSTs go
  out on an open-loop schedule over keep-alive connections; the worker at the other end
  of each connection and of each recipient's socket is read from the kernel's socket
  table, and each transfer goes to a recipient on the other worker. The commit lies
  between the POST being sent and its answer, which bound the latency from both sides;
  on a throwaway cluster with `track_commit_timestamp` (a run of its own) PostgreSQL's
  commit timestamp gives it exactly. Node's times and these are one monotonic clock.
- Sockets per worker (1 worker): each step between two runs without sockets, its transfer
  rate and the worker's CPU per transfer compared with theirs.

Each part's figures are printed as soon as they are measured.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import os
import queue
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import sqlalchemy as sa

from actors import pubsub
from benchmarks import database, http, private_postgres, server
from bitnexus.ledger.schema import ledger_transactions
from tests.channels.channels_support import Node, install_client
from web.realtime import announce

WORKERS = 2
SENDERS = 256  # threads sending the latency run's POSTs: more than are ever in flight
SHARED = "the shared PostgreSQL"
PRIVATE = "a throwaway PostgreSQL cluster with `track_commit_timestamp = on`"
BATCH = 100  # sockets connected at a time
HELD = 0.9  # a worker holds N sockets while its rate stays within 10 % of none
FD_HEADROOM = 1_000  # descriptors a worker or Node needs besides the sockets
SETTLE_SECONDS = 60.0  # for the server to count the sockets just (dis)connected
IDLE_SECONDS = 2.0  # before each wrk run


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much each part measures; `QUICK` only proves the code runs."""

    sockets_per_worker: int = 1_000
    steps: tuple[int, ...] = (1_000, 2_000, 4_000, 8_000)  # sockets on one worker
    idle_runs: int = 3  # runs with idle sockets, each between two without
    latency_seconds: int = 15
    rate: int = 200  # transfers per second for the latency run
    wrk_seconds: int = 6


FULL = Sizes()
QUICK = Sizes(
    sockets_per_worker=50, steps=(100, 200), idle_runs=1, latency_seconds=3, wrk_seconds=2
)


@dataclasses.dataclass(frozen=True)
class Run:
    """One wrk run of transfers while ``sockets`` idle sockets are held."""

    sockets: int
    rate: float  # transfers answered 201 per second
    cpu_ms: float  # the workers' CPU per answered transfer
    rss_mib: float  # the workers' RSS with the sockets, before the transfers


@dataclasses.dataclass(frozen=True)
class Idle:
    """Runs with idle sockets, each between two without (``steps[i].after`` is
    ``steps[i + 1].before``): the figures without are each step's neighbours' means, so
    a run's drift weighs alike on both sides."""

    steps: list[Step]
    rss_before_sockets_mib: float  # the workers' RSS before any socket connected

    @property
    def sockets(self) -> int:
        return self.steps[0].sockets

    @property
    def rate_without(self) -> float:
        return statistics.mean(s.rate_without for s in self.steps)

    @property
    def rate_with(self) -> float:
        return statistics.mean(s.held.rate for s in self.steps)

    @property
    def cpu_ms_without(self) -> float:
        return statistics.mean(s.cpu_ms_without for s in self.steps)

    @property
    def cpu_ms_with(self) -> float:
        return statistics.mean(s.held.cpu_ms for s in self.steps)

    @property
    def rss_with_mib(self) -> float:
        return statistics.mean(s.held.rss_mib for s in self.steps)

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_with_mib - self.rss_before_sockets_mib) * 1024 / self.sockets


Percentiles = tuple[float, float]  # p50, p99 in ms


@dataclasses.dataclass(frozen=True)
class Latency:
    """Push latency to the recipient's callback, over the transfers whose sender's worker
    (the one that answered the POST, so committed it) is not the recipient socket's."""

    where: str  # which PostgreSQL
    offered: int  # POSTs per second scheduled
    posts: int  # POSTs sent
    sent: int  # transfers answered 201
    failed: int
    failures: list[str]  # the first few, as answered
    received: int  # their pushes that arrived
    rate: float  # POSTs sent per second
    late_ms: Percentiles  # a POST sent after its slot in the schedule
    late_max_ms: float
    sockets: tuple[int, ...]  # the recipients' sockets on each worker
    cross: int  # transfers with sender and recipient on different workers
    same: int
    lower_ms: Percentiles  # from the POST's answer, after the commit
    upper_ms: Percentiles  # from the POST being sent, before the commit
    commit_ms: Percentiles | None  # from PostgreSQL's commit timestamp, where tracked
    before_commit_ms: Percentiles | None  # from the POST being sent to the commit
    heard_ms: Percentiles  # from an outside listener hearing the NOTIFY to the callback
    heard_after_commit_ms: Percentiles | None  # from the commit to that listener
    outside: int  # commit timestamps not between the POST's sending and its answer
    load: tuple[float, float]  # 1-minute load average before, after
    used: dict[str, float]  # CPU while the POSTs went out, in cores, and the stall share


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


class Pairs(NamedTuple):
    """wrk's transfers between ``ids``, kept in ``path``."""

    path: Path
    ids: list[int]

    def written(self) -> Path:
        """The file of lines "<sender's token> <recipient id>", with tokens issued now: an
        access token lives 15 minutes (`web.tokens`), less than the section takes, and
        the transfers of a run with expired ones are all answered 401."""
        rng = random.Random(3)
        tokens = {uid: server.user_token(uid) for uid in self.ids}
        lines = []
        for _ in range(5_000):
            sender, recipient = rng.sample(self.ids, 2)
            lines.append(f"{tokens[sender]} {recipient}\n")
        self.path.write_text("".join(lines))
        return self.path


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


class TransfersFailed(Exception):
    """Most of a wrk run's transfers were not answered 201: the run measures nothing."""


def _transfers(base: str, pairs: Pairs, seconds: int) -> tuple[float, int]:
    """Transfers answered 201 per second, and how many (a few may be shed with 503 on a
    loaded machine)."""
    run = http._wrk(base, ["transfers", str(pairs.written())], seconds)
    if run.errors >= run.requests // 2:
        raise TransfersFailed(f"{run.errors:,} of {run.requests:,} transfers failed")
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


def _run_holding(srv: server.Server, node: Node, ids: list[int], pairs: Pairs, seconds: int) -> Run:
    """Connect a socket for each of ``ids`` (none for no ids), let them idle, run wrk's
    transfers, disconnect them all: the server is back to no sockets afterwards."""
    prefix = f"b{next(_prefixes)}-"
    _connect(node, srv.base, ids, prefix, [])
    _settle(srv, len(ids))
    # Idle with sockets and without alike: what the (dis)connecting set off subsides (the
    # sockets' first heartbeats are 30 s away).
    time.sleep(IDLE_SECONDS)
    rss = srv.rss_mib()
    cpu = srv.cpu_seconds()
    rate, answered = _transfers(srv.base, pairs, seconds)
    run = Run(len(ids), rate, (srv.cpu_seconds() - cpu) * 1000 / answered, rss)
    _disconnect(node, ids, prefix)
    _settle(srv, 0)
    return run


def idle_sockets(
    url: str, ids: list[int], pairs: Pairs, log: Path, env: dict[str, str], sizes: Sizes
) -> Idle:
    held = ids[: sizes.sockets_per_worker * WORKERS]
    steps: list[Step] = []
    with server.serve(url, WORKERS, http.THREADS, env) as srv:
        node = Node(log)
        try:
            # Two discarded warm-ups, without sockets then with: without them the first
            # run with sockets came out at 78-79 % of its neighbours in 3 of 4 trials, the
            # later ones not (a fresh server, database and socket path settling; not
            # pinned down further). A socket's RSS is counted against the workers' before
            # any socket connected: what departed sockets freed stays with the process.
            _run_holding(srv, node, [], pairs, sizes.wrk_seconds)
            rss_before_sockets = srv.rss_mib()
            _run_holding(srv, node, held, pairs, sizes.wrk_seconds)
            before = _run_holding(srv, node, [], pairs, sizes.wrk_seconds)
            for _ in range(sizes.idle_runs):  # interleaved: drift hits both alike
                with_ = _run_holding(srv, node, held, pairs, sizes.wrk_seconds)
                after = _run_holding(srv, node, [], pairs, sizes.wrk_seconds)
                steps.append(Step(before, with_, after))
                before = after
        finally:
            node.close()
    return Idle(steps, rss_before_sockets)


class _Push(NamedTuple):
    """One transfer's times, ms on the machine's monotonic clock (Python's
    `time.monotonic` and Node's `process.hrtime` both read CLOCK_MONOTONIC)."""

    scheduled: float  # its slot in the open-loop schedule
    sent: float  # the POST about to be written (before the commit)
    answered: float  # its answer read (after the commit)
    sender_port: int | None  # the connection that carried the POST (and its answer)
    recipient_pid: int  # the worker holding the recipient's socket


def _monotonic_ms() -> float:
    return time.monotonic() * 1000


def _workers_by_port(srv: server.Server, ports: set[int]) -> dict[int, int]:
    """The worker holding the server's end of each loopback connection whose client end is
    on one of ``ports``: the kernel's socket table (/proc/net/tcp) names the connection's
    inode, and a worker's descriptors (/proc/<pid>/fd) show which process has it."""
    server_port = int(srv.base.rsplit(":", 1)[1])
    needle = f":{server_port:04X} "
    inodes: dict[str, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines():
        if needle not in line:  # most of the machine's connections: skipped cheaply
            continue
        fields = line.split()
        local, remote = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)
        if local == server_port and remote in ports:
            inodes[f"socket:[{fields[9]}]"] = remote
    found = {}
    for pid in srv.worker_pids():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # a descriptor closed meanwhile
                port = inodes.get(os.readlink(fd))
                if port is not None:
                    found[port] = pid
    return found


class _Resolver(threading.Thread):
    """Finds the worker at the other end of each sender's connection: one scan of the
    socket table every `PERIOD` for all the ports still unknown, not one per connection
    (a scan holds the GIL the senders need to keep to their schedule)."""

    PERIOD = 0.1

    def __init__(self, srv: server.Server) -> None:
        super().__init__(daemon=True)
        self._srv = srv
        self._wanted: set[int] = set()
        self.found: dict[int, int] = {}  # port -> worker pid
        self._done = threading.Event()

    def want(self, port: int) -> None:
        self._wanted.add(port)

    def run(self) -> None:
        while not self._done.wait(self.PERIOD):
            self._scan()

    def _scan(self) -> None:
        unknown = self._wanted - self.found.keys()
        if unknown:
            self.found |= _workers_by_port(self._srv, unknown)

    def stop(self) -> None:
        """After the last answer: the ports wanted since the last scan too."""
        self._done.set()
        self.join()
        self._scan()


class _Sender:
    """A keep-alive HTTP connection, named by its local port (the port's worker is the
    resolver's to find: the one that accepted it, after its first answer)."""

    IDLE_SECONDS = 1.0  # reopened when idle this long: gunicorn drops keep-alives at 2 s

    def __init__(self, srv: server.Server) -> None:
        self._srv = srv
        host, port = srv.base.removeprefix("http://").split(":")
        self.http = HTTPConnection(host, int(port), timeout=30)
        self.port: int | None = None
        self.used = time.monotonic()

    def fresh(self) -> _Sender:
        if time.monotonic() - self.used < self.IDLE_SECONDS:
            return self
        self.http.close()
        return _Sender(self._srv)

    def answered(self, resolver: _Resolver) -> None:
        """After an answer: the connection it came on (None when the server closed it)."""
        self.used = time.monotonic()
        self.port = self.http.sock.getsockname()[1] if self.http.sock is not None else None
        if self.port is not None:
            resolver.want(self.port)


class _Hearing:
    """A LISTEN on the pubsub channel in a process of its own (so no GIL shared with the
    senders), noting when each notification arrives: the time PostgreSQL takes to deliver
    a NOTIFY apart from the time our server takes to push it on."""

    def __init__(self, engine: sa.Engine, out: Path) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._out = out
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Event(), context.Event()
        self._process = context.Process(
            target=_hear, args=(self._dsn, str(out), self._ready, self._stop)
        )

    def __enter__(self) -> _Hearing:
        self._process.start()
        assert self._ready.wait(60), "the outside listener did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(30)

    def times(self, engine: sa.Engine) -> dict[int, float]:
        """When the NOTIFY naming each transaction's block was heard (monotonic ms)."""
        heard: dict[int, float] = {}
        for line in self._out.read_text().splitlines():
            at, body = line.split(" ", 1)
            kind, _, text = body.partition(":")
            if kind == announce.BLOCK:
                heard[announce.parse(text).index] = float(at)
        t = ledger_transactions
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.id, t.c.block_index).where(t.c.block_index.in_(list(heard)))
            ).all()
        return {tx_id: heard[block] for tx_id, block in rows}


def _hear(dsn: str, out: str, ready: Any, stop: Any) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, open(out, "w") as lines:
        conn.execute(f"LISTEN {pubsub.CHANNEL}")
        ready.set()
        while not stop.is_set():
            for note in conn.notifies(timeout=0.2):
                lines.write(f"{_monotonic_ms()} {note.payload}\n")


class _Usage:
    """CPU used from now on by the server's workers, Node and this benchmark (in cores),
    and the share of the time some task on the machine waited for a CPU (Linux's
    pressure stall information): how much of a push's time may be waiting for a core."""

    def __init__(self, srv: server.Server, node: Node) -> None:
        self._srv, self._node = srv, node
        self._start = self._read()

    def _read(self) -> tuple[float, ...]:
        stall = Path("/proc/pressure/cpu").read_text().split("total=", 1)[1].split()[0]
        return (
            time.monotonic(),
            self._srv.cpu_seconds(),
            server.process_cpu_seconds(self._node.proc.pid),
            time.process_time(),
            int(stall) / 1e6,
        )

    def shares(self) -> dict[str, float]:
        wall, *used = (b - a for a, b in zip(self._start, self._read(), strict=True))
        return dict(
            zip(("workers", "node", "benchmark", "stall"), (u / wall for u in used), strict=True)
        )


def _commit_times(engine: sa.Engine, ids: list[int]) -> dict[int, float]:
    """Each transaction's commit on the monotonic clock, from PostgreSQL's commit
    timestamp of the block that wrote it (taken as the commit record is written, just
    before its WAL flush); empty when the server does not track commit timestamps."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SHOW track_commit_timestamp")).scalar_one() != "on":
            return {}
        rows = conn.execute(
            sa.text(
                "SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 "
                "FROM ledger_transactions WHERE id = ANY(:ids)"
            ),
            {"ids": ids},
        ).all()
    # The system clock's ms to the monotonic clock's: one offset, read in one instant.
    offset = time.time() * 1000 - _monotonic_ms()
    return {tx_id: float(epoch_ms) - offset for tx_id, epoch_ms in rows}


def _check_node_clock(node: Node, spawned: float, ready_read: float) -> None:
    """Node's monotonic times are this process's: its `ready` lies between its spawn and
    the moment its line was read here."""
    ready = next(e for e in node.events if e["type"] == "ready")["mono"]
    assert spawned <= ready <= ready_read, (spawned, ready, ready_read)


def push_latency(
    where: str, engine: sa.Engine, ids: list[int], log: Path, env: dict[str, str], sizes: Sizes
) -> Latency:
    """Transfers at ``sizes.rate`` per second on an open-loop schedule (each POST submitted at its
    slot, whatever the answers before it do), each to a recipient whose socket is on the
    other worker than the connection carrying the POST."""
    url = engine.url.render_as_string(hide_password=False)
    recipients, senders = ids[:200], ids[200:400]
    tokens = {uid: server.user_token(uid) for uid in senders}
    load_before = os.getloadavg()[0]
    with server.serve(url, WORKERS, http.THREADS, env) as srv:
        spawned = _monotonic_ms()
        node = Node(log)
        try:
            _check_node_clock(node, spawned, _monotonic_ms())
            _connect(node, srv.base, recipients, "r", ["new_transaction"])
            opened = {e["id"]: e["port"] for e in node.events if e["type"] == "open"}
            ports = {int(sid[1:]): port for sid, port in opened.items()}
            by_port = _workers_by_port(srv, set(ports.values()))
            socket_pid = {uid: by_port[port] for uid, port in ports.items()}
            on = {pid: [u for u in recipients if socket_pid[u] == pid] for pid in srv.worker_pids()}

            def recipient_for(k: int, sender_pid: int | None) -> int:
                """On the other worker than the sender's (any, while that is unknown)."""
                others = [u for pid, us in on.items() if pid != sender_pid for u in us]
                return (others or recipients)[k % len(others or recipients)]

            idle: queue.SimpleQueue[_Sender] = queue.SimpleQueue()
            posted: list[float] = []  # every POST's sending, answered 201 or not
            pushes: dict[int, _Push] = {}  # by transaction id
            failed: list[str] = []
            lock = threading.Lock()

            def transfer(k: int, scheduled: float) -> None:
                try:
                    sender = idle.get_nowait().fresh()
                except queue.Empty:
                    sender = _Sender(srv)
                recipient = recipient_for(k, resolver.found.get(sender.port))
                body = (
                    '{"transaction":{"kind":"transfer","amount":"0.01","currency":"EUR",'
                    f'"recipient_id":{recipient}}}}}'
                )
                headers = {
                    "authorization": f"Bearer {tokens[senders[k % len(senders)]]}",
                    "content-type": "application/json",
                }
                try:
                    sent = _monotonic_ms()
                    posted.append(sent)
                    sender.http.request("POST", "/api/v1/transactions", body, headers)
                    response = sender.http.getresponse()
                    answer = response.read()
                    answered = _monotonic_ms()
                except OSError as exc:
                    sender.http.close()
                    with lock:
                        failed.append(repr(exc))
                    return
                sender.answered(resolver)
                idle.put(sender)
                if response.status != 201:
                    with lock:
                        failed.append(f"{response.status} {answer[:200]!r}")
                    return
                tx_id = json.loads(answer)["data"]["id"]
                with lock:
                    pushes[tx_id] = _Push(
                        scheduled, sent, answered, sender.port, socket_pid[recipient]
                    )

            total = sizes.rate * sizes.latency_seconds
            resolver = _Resolver(srv)
            resolver.start()
            with (
                _Hearing(engine, log.with_suffix(".notify")) as hearing,
                concurrent.futures.ThreadPoolExecutor(SENDERS) as pool,
            ):
                began = _monotonic_ms() + 100
                usage = _Usage(srv, node)
                for k in range(total):
                    slot = began + k * 1000 / sizes.rate
                    delay = slot - _monotonic_ms()
                    if delay > 0:
                        time.sleep(delay / 1000)
                    pool.submit(transfer, k, slot)
            resolver.stop()  # every answer is in: the executor waited for them
            used = usage.shares()
            with contextlib.suppress(AssertionError):  # what never arrives is counted
                node.wait_count(lambda e: e["type"] == "message", len(pushes), timeout=120)
        finally:
            node.close()
    load_after = os.getloadavg()[0]
    callbacks = {
        e["payload"]["id"]: e["mono"]
        for e in node.events
        if e["type"] == "message" and e["payload"]["id"] in pushes
    }
    commits = _commit_times(engine, list(pushes))
    load = (load_before, load_after)
    return _latency(
        where,
        sizes.rate,
        posted,
        pushes,
        resolver.found,
        callbacks,
        commits,
        hearing.times(engine),
        on,
        failed,
        load,
        used,
    )


def _latency(
    where: str,
    offered: int,
    posted: list[float],
    pushes: dict[int, _Push],
    workers: dict[int, int],  # a sender's port -> the worker at its other end
    callbacks: dict[int, float],
    commits: dict[int, float],
    heard: dict[int, float],
    on: dict[int, list[int]],
    failed: list[str],
    load: tuple[float, float],
    used: dict[str, float],
) -> Latency:
    sent = sorted(posted)
    sender = {t: workers.get(p.sender_port) for t, p in pushes.items()}
    cross = {t: p for t, p in pushes.items() if sender[t] not in (None, p.recipient_pid)}
    arrived = {t: p for t, p in cross.items() if t in callbacks}

    def pct(values: Iterable[float]) -> Percentiles:
        ordered = sorted(values)
        return _pct(ordered, 50), _pct(ordered, 99)

    return Latency(
        where=where,
        offered=offered,
        posts=len(posted),
        sent=len(pushes),
        failed=len(failed),
        failures=failed[:3],
        received=len(callbacks),
        rate=(len(sent) - 1) * 1000 / (sent[-1] - sent[0]),
        late_ms=pct(p.sent - p.scheduled for p in pushes.values()),
        late_max_ms=max(p.sent - p.scheduled for p in pushes.values()),
        sockets=tuple(len(us) for us in on.values()),
        cross=len(cross),
        same=sum(sender[t] == p.recipient_pid for t, p in pushes.items()),
        lower_ms=pct(callbacks[t] - p.answered for t, p in arrived.items()),
        upper_ms=pct(callbacks[t] - p.sent for t, p in arrived.items()),
        commit_ms=pct(callbacks[t] - commits[t] for t in arrived) if commits else None,
        before_commit_ms=pct(commits[t] - p.sent for t, p in arrived.items()) if commits else None,
        heard_ms=pct(callbacks[t] - heard[t] for t in arrived if t in heard),
        heard_after_commit_ms=pct(heard[t] - commits[t] for t in arrived if t in heard)
        if commits
        else None,
        outside=sum(not p.sent <= commits[t] <= p.answered for t, p in arrived.items() if commits),
        load=load,
        used=used,
    )


def sockets_per_worker(
    url: str, ids: list[int], pairs: Pairs, log: Path, env: dict[str, str], sizes: Sizes
) -> tuple[list[Step], str | None]:
    """Each step between runs without sockets (shared with the next step): the ledger's
    growth and the machine's drifting load hit a step and what it is compared with alike.
    A step that cannot be measured ends the steps; what the server and the client showed
    meanwhile is returned in its place."""
    steps: list[Step] = []
    failed = None
    with server.serve(url, 1, http.THREADS, env) as srv:
        node = Node(log)
        try:
            before = _run_holding(srv, node, [], pairs, sizes.wrk_seconds)
            for count in sizes.steps:
                mark = _Mark(srv.worker_pids(), len(srv.log.read_text()), len(node.events))
                try:
                    held = _run_holding(srv, node, ids[:count], pairs, sizes.wrk_seconds)
                    after = _run_holding(srv, node, [], pairs, sizes.wrk_seconds)
                except (TransfersFailed, AssertionError) as exc:
                    failed = f"{count:,} sockets: {exc}; meanwhile {mark.since(srv, node)}"
                    print(f"    {failed}", flush=True)
                    break
                steps.append(Step(before, held, after))
                print(f"    {step_markdown(steps[-1])}", flush=True)
                before = after
        finally:
            node.close()
    return steps, failed


class _Mark(NamedTuple):
    """Where the server and the client were when a step began."""

    pids: list[int]
    log_at: int  # characters of the server's log
    events_at: int  # Node's events

    def since(self, srv: server.Server, node: Node) -> str:
        """The server's answers and warnings, worker restarts and the client's closed
        sockets since the mark."""
        answers: collections.Counter[str] = collections.Counter()
        for line in srv.log.read_text()[self.log_at :].splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if "status" in entry:
                    answers[f"{entry.get('method')} {entry.get('path')} {entry['status']}"] += 1
                elif entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                    answers[f"{entry['level']} {entry.get('logger')}"] += 1
            if "WORKER TIMEOUT" in line or "Booting worker" in line:
                answers[line.split("] ", 1)[-1][:60]] += 1
        closed = collections.Counter(
            e["type"] for e in node.events[self.events_at :] if e["type"] in ("close", "error")
        )
        workers = srv.worker_pids()
        return (
            f"the server logged {dict(answers.most_common(8))}, the client saw "
            f"{dict(closed)}, workers {self.pids} → {workers}"
        )


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


def run(
    env: dict[str, str] | None = None, sizes: Sizes = FULL
) -> tuple[Idle, list[Latency], list[Step], str | None]:
    """Every part against ``bitnexus serve`` with ``env`` (e.g. another checkout's
    PYTHONPATH); each part's figures printed as soon as it is measured."""
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
        pairs = Pairs(Path(tmp) / "pairs.txt", ids[:1_000])
        idle_ids = ids[1_000:]
        print("  idle sockets …", flush=True)
        idle = idle_sockets(url, idle_ids, pairs, Path(tmp) / "idle.txt", env, sizes)
        print(idle_markdown(idle), flush=True)
        print("  push latency …", flush=True)
        latencies = [
            push_latency(SHARED, engine, ids, Path(tmp) / "latency.txt", env, sizes),
            _latency_on_private_cluster(Path(tmp) / "latency-private.txt", env, sizes),
        ]
        for latency in latencies:
            print(latency_markdown(latency), flush=True)
        print("  sockets per worker …", flush=True)
        steps, failed = sockets_per_worker(
            url, idle_ids, pairs, Path(tmp) / "steps.txt", env, sizes
        )
    return idle, latencies, steps, failed


def _latency_on_private_cluster(log: Path, env: dict[str, str], sizes: Sizes) -> Latency:
    """`push_latency` on a throwaway cluster that tracks commit timestamps (the shared
    server does not, and turning it on needs a restart)."""
    with (
        private_postgres.cluster(track_commit_timestamp="on") as url,
        database.migrated(url) as (cfg, engine),
    ):
        ids = database.wallets(cfg, engine, 400)
        return push_latency(PRIVATE, engine, ids, log, env, sizes)


def _held(steps: list[Step], within: Callable[[Step], bool]) -> int:
    """The most sockets for which this step and every smaller one are ``within``."""
    held = 0
    for step in steps:
        if not within(step):
            break
        held = step.sockets
    return held


def idle_markdown(idle: Idle) -> str:
    return (
        f"- {idle.sockets:,} idle sockets over {WORKERS} workers (each joined to its "
        f"`transaction:` topic), {len(idle.steps)} runs each between two runs without "
        f"sockets: {idle.rate_with:,.0f} transfer POSTs/s against "
        f"{idle.rate_without:,.0f}/s without sockets "
        f"(**{idle.rate_with / idle.rate_without:.0%}**; target ≥ 90 %; run by run "
        + ", ".join(f"{s.rate_ratio:.0%}" for s in idle.steps)
        + f"). The workers' CPU per transfer {idle.cpu_ms_with:.2f} ms against "
        f"{idle.cpu_ms_without:.2f} ({idle.cpu_ms_with / idle.cpu_ms_without:.2f}×; what "
        f"other load moves least). RSS "
        f"{idle.rss_before_sockets_mib:.0f} → {idle.rss_with_mib:.0f} MiB: "
        f"**{idle.kib_per_socket:.0f} KiB per idle socket** (target ≤ 50 KiB; a socket "
        "and its channel are two actors on the socket hub's loop)."
    )


def _ms(p: Percentiles | None) -> str:
    return "—" if p is None else f"{p[0]:.1f} / **{p[1]:.1f}**"


def latency_markdown(lat: Latency) -> str:
    failures = f" ({lat.failed} failed, e.g. {lat.failures[0]})" if lat.failed else ""
    return (
        f"- Push latency on {lat.where} (load average {lat.load[0]:.1f} before, "
        f"{lat.load[1]:.1f} after; while the POSTs went out some task waited for a CPU "
        f"{lat.used['stall']:.0%} of the time, and the workers used {lat.used['workers']:.2f} "
        f"cores, Node {lat.used['node']:.2f}, the benchmark {lat.used['benchmark']:.2f}): "
        f"{lat.posts:,} POSTs sent at {lat.rate:.0f}/s on an open-loop schedule "
        f"of {lat.offered}/s (sent after their slot by p50 {lat.late_ms[0]:.1f} ms, p99 "
        f"{lat.late_ms[1]:.1f} ms, at most {lat.late_max_ms:.0f} ms){failures}; "
        f"{WORKERS} workers holding {' and '.join(map(str, lat.sockets))} of the 200 "
        f"recipients' sockets; {lat.cross:,} of {lat.sent:,} transfers with the sender's "
        f"worker (the one that answered the POST, so committed it) not the recipient's "
        f"({lat.same} on the same worker, {lat.sent - lat.cross - lat.same} unknown), of "
        f"which {lat.received:,} pushes reached their callback. From the commit to the "
        f"recipient's callback in Node, p50 / p99: at least {_ms(lat.lower_ms)} ms (from "
        f"the POST's answer), at most {_ms(lat.upper_ms)} ms (from the POST being sent); "
        f"from PostgreSQL's commit timestamp {_ms(lat.commit_ms)} ms (target p99 ≤ 50 ms). "
        f"From an outside LISTEN (a process of its own) hearing the NOTIFY to the callback: "
        f"{_ms(lat.heard_ms)} ms"
        + (
            f"; from the commit to that listener: {_ms(lat.heard_after_commit_ms)} ms."
            if lat.heard_after_commit_ms is not None
            else "."
        )
        + (
            f" The POST's time in the server before its commit: {_ms(lat.before_commit_ms)} "
            f"ms; {lat.outside} commit timestamps outside their POST's sending and answer."
            if lat.commit_ms is not None
            else ""
        )
    )


def steps_markdown(steps: list[Step], failed: str | None) -> str:
    by_rate = _held(steps, lambda s: s.rate_ratio >= HELD)
    by_cpu = _held(steps, lambda s: s.cpu_ratio <= 1 / HELD)
    last = steps[-1].sockets if steps else 0
    return (
        "- Sockets held by one worker: each step is measured between two runs without "
        "sockets (connect the sockets and join them, let them idle 2 s, run wrk, "
        "disconnect every socket, idle 2 s, run wrk again), so the ledger's growth and the "
        "machine's drifting load hit a step and what it is compared with alike. Sockets: "
        "transfers/s with them against the mean of the runs just before and after (ratio), "
        "the worker's CPU per transfer with and without, its RSS with them: "
        + "; ".join(map(step_markdown, steps))
        + f". Held with the rate ≥ 90 % of its neighbours at that step and every smaller "
        f"one: **{by_rate:,}**"
        + (" (the most measured)" if by_rate == last else "")
        + f"; with the CPU per transfer within 1/0.9 of theirs (what other load moves "
        f"least): **{by_cpu:,}**" + (" (the most measured)" if by_cpu == last else "") + "."
    )


def step_markdown(s: Step) -> str:
    return (
        f"{s.sockets:,}: {s.held.rate:,.0f}/s against {s.before.rate:,.0f} and "
        f"{s.after.rate:,.0f} ({s.rate_ratio:.0%}), {s.held.cpu_ms:.2f} against "
        f"{s.cpu_ms_without:.2f} ms CPU ({s.cpu_ratio:.2f}×), {s.held.rss_mib:.0f} MiB"
    )


def markdown(idle: Idle, latencies: list[Latency], steps: list[Step], failed: str | None) -> str:
    parts = [idle_markdown(idle), *map(latency_markdown, latencies), steps_markdown(steps, failed)]
    return "\n".join(parts)


if __name__ == "__main__":
    # `--base DIR`: serve another checkout's code (`git worktree add DIR <commit>`).
    # `--quick`: a few sockets for seconds, only to prove the code runs.
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path)
    parser.add_argument("--quick", action="store_true")
    # `--latency RATE`: only the push latency, on the throwaway cluster, at RATE POSTs/s.
    parser.add_argument("--latency", type=int, metavar="RATE")
    args = parser.parse_args()
    database.start()
    if args.latency:
        install_client()
        with tempfile.TemporaryDirectory() as tmp:
            sizes = dataclasses.replace(FULL, rate=args.latency)
            print(latency_markdown(_latency_on_private_cluster(Path(tmp) / "l.txt", {}, sizes)))
        sys.exit(0)
    with database.no_outage():
        result = run(
            {"PYTHONPATH": str(args.base.resolve())} if args.base else None,
            QUICK if args.quick else FULL,
        )
    print(markdown(*result))
    sys.exit(0)
