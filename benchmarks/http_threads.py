"""Where a request's CPU goes, by thread: the app in-process, against bare Flask.

    flock /tmp/bitnexus-bench.lock .venv/bin/python -m benchmarks.http_threads

The HTTP section's fixtures and routes, but no gunicorn and no sockets: client threads
call the WSGI app directly, so what is left is our code. Each actor runs in threads named
after it (`Accounts-3`), so the CPU every thread used (from /proc, no profiler to distort
it) adds up to a split of a request's cost: the request thread (Flask, our hooks,
rendering), each service's actors, the ledger's writer and committer. A profiler would
slow Python-heavy threads more than the rest; this only reads the kernel's counters.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from benchmarks import bare, database, http, server
from bitnexus.tree import start
from web import Runtime, create_app

CLIENTS = 16  # as many as a worker has request threads
REQUESTS = 1_000
ROUNDS = 3
REQUEST_THREADS = "request threads"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _environs(args: list[str]) -> list[dict[str, Any]]:
    """WSGI environs for one route, from the HTTP section's wrk arguments."""
    kind, value = args
    if kind == "get":
        return [EnvironBuilder(path=value).get_environ()]
    environs = []
    for line in Path(value).read_text().splitlines():
        token, target = line.split(" ")
        headers = {"authorization": f"Bearer {token}"}
        if kind == "auth":
            environs.append(EnvironBuilder(path=target, headers=headers).get_environ())
            continue
        body = {"transaction": {"kind": "transfer", "amount": "0.01", "currency": "EUR",
                                "recipient_id": int(target)}}  # fmt: skip
        builder = EnvironBuilder(
            path="/api/v1/transactions", method="POST", headers=headers, json=body
        )
        environ = builder.get_environ()
        environ["body"] = environ["wsgi.input"].read()
        environs.append(environ)
    return environs


def _threads_cpu() -> dict[tuple[int, str], float]:
    """CPU seconds of every thread of this process, keyed by id and name less its number."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    cpu = {}
    for task in Path("/proc/self/task").iterdir():
        kind = re.sub(r"[-_ ]?\d+( \(.*\))?$", "", names.get(int(task.name), "other"))
        cpu[int(task.name), kind] = server.stat_cpu_seconds(task / "stat")
    return cpu


def _run(app: WsgiApp, environs: list[dict[str, Any]], count: int) -> dict[str, float]:
    """``count`` requests from CLIENTS threads; µs of CPU per request by thread kind."""
    statuses: list[str] = []
    client_cpu: list[float] = []

    def client(first: int) -> None:
        started = time.thread_time()
        for i in range(first, count, CLIENTS):
            environ = dict(environs[i % len(environs)])
            if "body" in environ:
                environ["wsgi.input"] = io.BytesIO(environ["body"])
            body = app(environ, lambda status, headers, exc=None: statuses.append(status))
            b"".join(body)
            getattr(body, "close", lambda: None)()
        client_cpu.append(time.thread_time() - started)

    before = _threads_cpu()
    clients = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    split: dict[str, float] = {REQUEST_THREADS: sum(client_cpu)}
    for (tid, kind), seconds in _threads_cpu().items():
        split[kind] = split.get(kind, 0.0) + seconds - before.get((tid, kind), 0.0)
    failed = [s for s in statuses if not s.startswith("2")]
    assert not failed, f"{len(failed)} requests failed, e.g. {failed[0]}"
    return {kind: seconds / count * 1e6 for kind, seconds in split.items()}


def run(
    requests: int = REQUESTS, rounds: int = ROUNDS, routes: tuple[str, ...] = http.ROUTES
) -> dict[str, dict[str, float]]:
    """Median µs of CPU per request by thread kind, for the bare app and each route."""
    with database.fresh() as (cfg, engine), tempfile.TemporaryDirectory() as tmp:
        args = http._fixtures(cfg, engine, Path(tmp))
        url = engine.url.render_as_string(hide_password=False)
        settings = {"secret_key": server.SECRET, "ledger_signing_key": cfg.ledger_signing_key}
        with start(url, **settings) as running:
            ours = create_app(running.config, Runtime(running.tree))
            contenders: dict[str, tuple[WsgiApp, list[dict[str, Any]]]] = {
                "bare Flask": (bare.app, [EnvironBuilder(path="/").get_environ()])
            }
            contenders |= {route: (ours, _environs(args[route])) for route in routes}
            for app, environs in contenders.values():
                _run(app, environs, 100)  # connections opened, statements prepared
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
            for _ in range(rounds):
                for name, (app, environs) in contenders.items():
                    runs[name].append(_run(app, environs, requests))
    return {name: _median(split) for name, split in runs.items()}


def _median(splits: list[dict[str, float]]) -> dict[str, float]:
    kinds = {kind for split in splits for kind in split}
    return {kind: statistics.median(s.get(kind, 0.0) for s in splits) for kind in kinds}


def markdown(result: dict[str, dict[str, float]], floor: float = 20.0) -> str:
    """One row per route: total, then each thread kind that costs at least ``floor`` µs."""
    kinds = sorted(
        {k for split in result.values() for k, v in split.items() if v >= floor},
        key=lambda k: (k != REQUEST_THREADS, k),
    )
    lines = [
        "| route | CPU µs/request | " + " | ".join(kinds) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in kinds) + " |",
    ]
    for name, split in result.items():
        cells = [f"{split.get(k, 0.0):,.0f}" for k in kinds]
        lines.append(f"| {name} | {sum(split.values()):,.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--routes", nargs="*", choices=http.ROUTES, default=list(http.ROUTES), help="only these"
    )
    options = parser.parse_args()
    database.start()
    result = run(options.requests, options.rounds, tuple(options.routes))
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(markdown(result))
    if options.json:
        options.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
