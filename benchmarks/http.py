"""End-to-end HTTP: POST /api/v1/transactions against GET /health on the same server.

`bitnexus serve` runs on a fresh PostgreSQL database with 1 and then 2 workers; wrk (one
thread, keep-alive connections, its own process) drives each route in turn, interleaved
over the rounds. Transfers are between 1,000 funded wallets, each request signed by the
sender's JWT.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import database, server
from web.tokens import issue

WORKERS = (1, 2)
THREADS = 16  # gunicorn threads per worker (bitnexus serve's default)
CONNECTIONS = 32  # wrk keep-alive connections
SECONDS = 6
ROUNDS = 2
WALLETS = 1_000
SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class Row:
    workers: int
    route: str
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    rss_idle_mib: float
    rss_mib: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _pairs_file(directory: Path, ids: list[int]) -> Path:
    rng = random.Random(3)
    tokens = {uid: issue(server.SECRET, uid, "user") for uid in ids}
    path = directory / "pairs.txt"
    lines = []
    for _ in range(5_000):
        sender, recipient = rng.sample(ids, 2)
        lines.append(f"{tokens[sender]} {recipient}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _wrk(base: str, args: list[str]) -> tuple[int, float, int, int, float, float]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "10s"]
    proc = subprocess.run(
        [*command, "-s", str(SCRIPT), base, "--", *args],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    requests, micros, non_2xx, socket_errors, p50, p99 = (int(x) for x in line.split()[1:])
    return requests, micros / 1e6, non_2xx, socket_errors, p50 / 1e3, p99 / 1e3


def run(env: dict[str, str] | None = None) -> list[Row]:
    rows: list[Row] = []
    with database.fresh() as (cfg, engine), tempfile.TemporaryDirectory() as tmp:
        url = engine.url.render_as_string(hide_password=False)
        ids = database.wallets(cfg, engine, WALLETS)
        pairs = _pairs_file(Path(tmp), ids)
        for workers in WORKERS:
            print(f"  http workers={workers} …", flush=True)
            with server.serve(url, workers, THREADS, env or {}) as srv:
                idle = srv.rss_mib()
                runs: dict[str, list[tuple]] = {"GET /health": [], "POST /api/v1/transactions": []}
                for _ in range(ROUNDS):  # interleaved: drift hits both routes alike
                    runs["GET /health"].append(_wrk(srv.base, ["health"]))
                    runs["POST /api/v1/transactions"].append(
                        _wrk(srv.base, ["transfers", str(pairs)])
                    )
                rss = srv.rss_mib()
                for route, results in runs.items():
                    rows.append(_merge(workers, route, results, idle, rss))
    return rows


def _merge(workers: int, route: str, results: list[tuple], idle: float, rss: float) -> Row:
    """Totals over the rounds; latency percentiles are the worse round's (wrk reports no
    histogram to merge)."""
    return Row(
        workers,
        route,
        requests=sum(r[0] for r in results),
        seconds=sum(r[1] for r in results),
        non_2xx=sum(r[2] for r in results),
        socket_errors=sum(r[3] for r in results),
        p50_ms=max(r[4] for r in results),
        p99_ms=max(r[5] for r in results),
        rss_idle_mib=idle,
        rss_mib=rss,
    )


def markdown(rows: list[Row]) -> str:
    lines = [
        "| workers | route | requests/s | p50 ms | p99 ms | errors | vs /health "
        "| RSS idle → loaded MiB |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    health = {r.workers: r.rate for r in rows if r.route == "GET /health"}
    for r in rows:
        lines.append(
            f"| {r.workers} | {r.route} | {r.rate:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.non_2xx + r.socket_errors} | {r.rate / health[r.workers]:.0%} | "
            f"{r.rss_idle_mib:.0f} → {r.rss_mib:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    database.start()
    print(markdown(run()))
