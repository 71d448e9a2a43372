"""End-to-end HTTP: our routes against a bare Flask app under the same gunicorn settings.

`bitnexus serve` runs on a fresh PostgreSQL database (1,000 funded wallets, products, a
deposit per wallet) next to `benchmarks.bare` (Flask, one route answering
``{"status": "ok"}``) under gunicorn's threaded worker with the same workers and threads.
wrk (one thread, keep-alive connections, its own process) drives each route right after
the bare app, round after round, so drift on the shared machine hits both alike; a route's
share is its rate over the rate of the bare runs paired with it. The workers' CPU time per
request (from /proc) is reported too: on a machine other work keeps busy, the rates move
with that load, the CPU a request costs much less.

``python -m benchmarks.http --base DIR`` adds a contender: the code of another checkout
(``git worktree add DIR <commit>``) served the same way, for old-against-new figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import random
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from benchmarks import database, server
from bitnexus.database.schema import products, utcnow
from bitnexus.ledger.schema import ledger_transactions

WORKERS = (1, 2)
THREADS = 16  # gunicorn threads per worker (bitnexus serve's default)
CONNECTIONS = 32  # wrk keep-alive connections
SECONDS = 4
ROUNDS = 2
WALLETS = 1_000
PRODUCTS = 200
SCRIPT = Path(__file__).with_name("wrk.lua")
BARE = "bare Flask"
OURS = "bitnexus"
TARGETS = {  # the share of the bare app's requests/s each route must reach
    "GET /health": 0.7,
    "GET /api/v1/auth/me": 0.6,
    "GET /api/v1/products": 0.6,
    "GET /api/v1/users/:id/balances": 0.6,
    "GET /api/v1/transactions/:id": 0.6,
    "POST /api/v1/transactions": 0.4,
}
ROUTES = tuple(TARGETS)


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    errors: int  # non-2xx answers and socket errors
    p50_ms: float
    p99_ms: float
    cpu_seconds: float = 0.0  # the server's workers', during the run


@dataclass(frozen=True)
class Row:
    workers: int
    contender: str
    route: str
    runs: tuple[Run, ...]
    bare: tuple[Run, ...]  # the bare app's runs paired with these
    rss_idle_mib: float = 0.0
    rss_mib: float = 0.0

    @property
    def rate(self) -> float:
        return _rate(self.runs)

    @property
    def share(self) -> float:
        """Requests/s as a share of the paired bare runs'."""
        return self.rate / _rate(self.bare)

    @property
    def cpu_us(self) -> float:
        """The workers' CPU time per request, in µs: what a request costs on a machine
        whose other load slows every contender alike."""
        return _cpu_us(self.runs)

    @property
    def cpu_share(self) -> float:
        """The paired bare runs' CPU per request over this route's."""
        return _cpu_us(self.bare) / self.cpu_us

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    @property
    def p99_ms(self) -> float:
        """The worse round's (wrk reports no histogram to merge)."""
        return max(r.p99_ms for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return max(r.p50_ms for r in self.runs)


def _rate(runs: tuple[Run, ...]) -> float:
    return sum(r.requests for r in runs) / sum(r.seconds for r in runs)


def _cpu_us(runs: tuple[Run, ...]) -> float:
    return sum(r.cpu_seconds for r in runs) / sum(r.requests for r in runs) * 1e6


def _fixtures(cfg: object, engine: sa.Engine, directory: Path) -> dict[str, list[str]]:
    """wrk's arguments per route: funded wallets, active products, a deposit per wallet."""
    ids = database.wallets(cfg, engine, WALLETS)  # type: ignore[arg-type]
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(products),
            [
                {"name": f"p{i}", "price_minor": 100 + i, "currency": "EUR", "status": "active",
                 "created_by": ids[i % 20], "search_text": f"p{i}", "inserted_at": now,
                 "updated_at": now}
                for i in range(PRODUCTS)
            ],
        )  # fmt: skip
        t = ledger_transactions
        query = sa.select(t.c.user_id, t.c.id).where(t.c.kind == "deposit")
        deposits = {user: tx for user, tx in conn.execute(query)}
    rng = random.Random(3)
    tokens = {uid: server.user_token(uid) for uid in ids}
    paths = {
        "GET /api/v1/auth/me": lambda u: "/api/v1/auth/me",
        "GET /api/v1/products": lambda u: "/api/v1/products",
        "GET /api/v1/users/:id/balances": lambda u: f"/api/v1/users/{u}/balances",
        "GET /api/v1/transactions/:id": lambda u: f"/api/v1/transactions/{deposits[u]}",
        "POST /api/v1/transactions": lambda u: str(rng.choice([i for i in ids if i != u])),
    }
    args = {"GET /health": ["get", "/health"]}
    for route, value in paths.items():
        path = directory / f"{len(args)}.txt"
        path.write_text("".join(f"{tokens[u]} {value(u)}\n" for u in rng.sample(ids, 500)))
        args[route] = ["transfers" if route.startswith("POST") else "auth", str(path)]
    return args


def _wrk(base: str, args: list[str], seconds: int) -> Run:
    """One wrk run against ``base``."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    proc = subprocess.run(
        [*command, "-s", str(SCRIPT), base, "--", *args],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    requests, micros, non_2xx, socket_errors, p50, p99 = (int(x) for x in line.split()[1:])
    return Run(requests, micros / 1e6, non_2xx + socket_errors, p50 / 1e3, p99 / 1e3)


def _measured(srv: server.Server, args: list[str], seconds: int) -> Run:
    """`_wrk` on ``srv``, with the CPU time its workers used meanwhile."""
    before = srv.cpu_seconds()
    run = _wrk(srv.base, args, seconds)
    return dataclasses.replace(run, cpu_seconds=srv.cpu_seconds() - before)


@contextlib.contextmanager
def _contenders(url: str, workers: int, base: Path | None) -> Iterator[dict[str, server.Server]]:
    with contextlib.ExitStack() as stack:
        servers = {BARE: stack.enter_context(server.bare(workers, THREADS))}
        if base is not None:
            env = {"PYTHONPATH": str(base)}
            servers[f"{OURS} @ {base.name}"] = stack.enter_context(
                server.serve(url, workers, THREADS, env)
            )
        servers[OURS] = stack.enter_context(server.serve(url, workers, THREADS, {}))
        yield servers


def run(
    workers: tuple[int, ...] = WORKERS,
    seconds: int = SECONDS,
    rounds: int = ROUNDS,
    base: Path | None = None,
    routes: tuple[str, ...] = ROUTES,
) -> list[Row]:
    rows: list[Row] = []
    with database.fresh() as (cfg, engine), tempfile.TemporaryDirectory() as tmp:
        url = engine.url.render_as_string(hide_password=False)
        args = _fixtures(cfg, engine, Path(tmp))
        for n in workers:
            print(f"  http workers={n} …", flush=True)
            with _contenders(url, n, base) as servers:
                idle = {name: srv.rss_mib() for name, srv in servers.items()}
                runs: dict[tuple[str, str], list[Run]] = {}
                for _ in range(rounds):
                    for route in routes:
                        bare = _measured(servers[BARE], ["get", "/"], seconds)
                        runs.setdefault((BARE, route), []).append(bare)
                        for name, srv in servers.items():
                            if name != BARE:
                                runs.setdefault((name, route), []).append(
                                    _measured(srv, args[route], seconds)
                                )
                for name, srv in servers.items():
                    if name == BARE:
                        continue
                    rss = srv.rss_mib()
                    for route in routes:
                        rows.append(
                            Row(n, name, route, tuple(runs[name, route]),
                                tuple(runs[BARE, route]), idle[name], rss)
                        )  # fmt: skip
                every = tuple(r for route in routes for r in runs[BARE, route])
                rows.append(Row(n, BARE, "GET / (baseline)", every, every))
    return rows


def markdown(rows: list[Row]) -> str:
    lines = [
        "| workers | server | route | requests/s | share of bare | target | p50 ms | p99 ms "
        "| errors | CPU µs/request | CPU share |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        target = f"≥ {TARGETS[r.route]:.1f}" if r.route in TARGETS else "—"
        lines.append(
            f"| {r.workers} | {r.contender} | {r.route} | {r.rate:,.0f} | {r.share:.2f} | "
            f"{target} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} | {r.cpu_us:,.0f} | "
            f"{r.cpu_share:.2f} |"
        )
    return "\n".join(lines)


def scaling(rows: list[Row]) -> str:
    """Requests/s with the most workers against one, per route (ours only)."""
    ours = {(r.workers, r.route): r.rate for r in rows if r.contender in (OURS, BARE)}
    few, many = min(r.workers for r in rows), max(r.workers for r in rows)
    lines = [
        f"| route | {few} worker | {many} workers | {many} against {few} |",
        "| --- | ---: | ---: | ---: |",
    ]
    for route in (*ROUTES, "GET / (baseline)"):
        if (few, route) in ours and (many, route) in ours:
            lines.append(
                f"| {route} | {ours[few, route]:,.0f} | {ours[many, route]:,.0f} | "
                f"{ours[many, route] / ours[few, route]:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="another checkout served as a contender")
    parser.add_argument("--workers", type=int, nargs="*", default=list(WORKERS))
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--routes", nargs="*", choices=ROUTES, default=list(ROUTES), help="only these routes"
    )
    options = parser.parse_args()
    database.start()
    with database.no_outage():
        result = run(
            tuple(options.workers), options.seconds, options.rounds, options.base,
            tuple(options.routes),
        )  # fmt: skip
    print(markdown(result))
    print()
    print(scaling(result))
