"""A `bitnexus serve` process for the benchmarks: start, wait until ready, measure, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bitnexus.server import GRACEFUL_TIMEOUT
from web.tokens import issue

READY_DEADLINE = 60.0
ROOT = str(Path(__file__).resolve().parent.parent)
SECRET = "benchmark-signing-key-" + "x" * 32  # the server and the token issuer share it
# The ledger's Ed25519 seed: the server signs checkpoints with the key the grown data's are
# signed with (`database.config`), as one production ledger would.
LEDGER_SIGNING_KEY = "b3" * 32


def user_token(user_id: int) -> str:
    """An access token for a wallet user the benchmarks inserted (token generation 0)."""
    return issue(SECRET, user_id, "user", generation=0)


@dataclass(frozen=True)
class Server:
    proc: subprocess.Popen
    base: str
    workers: int
    log: Path  # its stdout and stderr

    def worker_pids(self) -> list[int]:
        return _children(self.proc.pid)

    def rss_mib(self) -> float:
        """Resident memory of the workers (each holds a tree), the arbiter excluded."""
        return sum(_rss_kib(pid) for pid in self.worker_pids()) / 1024

    def cpu_seconds(self) -> float:
        """CPU time the workers used so far, user and system (the arbiter excluded)."""
        return sum(process_cpu_seconds(pid) for pid in self.worker_pids())

    def get(self, path: str) -> int:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return response.status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(url: str, workers: int, threads: int, env: dict[str, str]) -> Iterator[Server]:
    """`bitnexus serve` on a free loopback port; SIGTERM and wait on exit."""
    port = free_port()
    full_env = os.environ | env | {"BITNEXUS_DATABASE_URL": url, "BITNEXUS_SECRET_KEY": SECRET}
    full_env["BITNEXUS_ADMIN_TOKEN"] = "benchmark-operator"
    full_env["BITNEXUS_LEDGER_SIGNING_KEY"] = LEDGER_SIGNING_KEY
    command = [sys.executable, "-m", "bitnexus.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    with _running(command, full_env, port, workers, "/ready") as server:
        yield server


@contextmanager
def bare(workers: int, threads: int) -> Iterator[Server]:
    """The baseline: `benchmarks.bare` (Flask, one JSON route) under gunicorn's threaded
    worker with the settings `bitnexus serve` gives its own."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread"]
    command += ["--graceful-timeout", str(GRACEFUL_TIMEOUT), "benchmarks.bare:app"]
    with _running(command, dict(os.environ), port, workers, "/") as server:
        yield server


@contextmanager
def _running(
    command: list[str], env: dict[str, str], port: int, workers: int, ready: str
) -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as cwd, open(Path(cwd) / "log.txt", "w") as log:
        env = env | {"PYTHONPATH": os.pathsep.join(filter(None, [env.get("PYTHONPATH"), ROOT]))}
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        server = Server(proc, f"http://127.0.0.1:{port}", workers, Path(cwd) / "log.txt")
        try:
            _wait_ready(server, ready, Path(cwd) / "log.txt")
            yield server
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _wait_ready(server: Server, path: str, log: Path) -> None:
    """Poll ``path`` until it answers 200 and every worker runs (an external process; a
    deadline bounds it)."""
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited {server.proc.returncode}: {log.read_text()}")
        try:
            if server.get(path) == 200 and len(server.worker_pids()) == server.workers:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready within {READY_DEADLINE} s: {log.read_text()}")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def process_cpu_seconds(pid: int) -> float:
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


def stat_cpu_seconds(stat: Path) -> float:
    """User and system CPU seconds from a /proc stat file, a process's or a thread's
    (``/proc/self/task/<tid>/stat``); 0 once it has ended."""
    try:
        fields = stat.read_text().rpartition(")")[2].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0
