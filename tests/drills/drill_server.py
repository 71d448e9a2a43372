"""A real `bitnexus serve` in its own process group: killed whole, restarted on the same
port, its worker pids and resident memory read from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from live_server import BITNEXUS, LiveServer, create_admin, free_port, wait_ready

SECRET = "drill-secret-key-of-a-decent-length-0123456789"
OPERATOR_TOKEN = "drill-operator-token"
OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
ENV = {
    "BITNEXUS_SECRET_KEY": SECRET,
    "BITNEXUS_ADMIN_TOKEN": OPERATOR_TOKEN,
    "BITNEXUS_ARGON2_TIME_COST": "1",
    "BITNEXUS_ARGON2_MEMORY_COST": "64",
    "BITNEXUS_ARGON2_PARALLELISM": "1",
    "BITNEXUS_ACCOUNTS_POOL": "2",
    "BITNEXUS_PRODUCTS_POOL": "2",
    "BITNEXUS_TRUSTED_PROXIES": "127.0.0.1",  # drill 7 names its clients in X-Forwarded-For
    # A loaded 2-core machine (the suite runs on 3 workers) can keep a request from a
    # thread for more than the default 0.25 s; only the overload drill tests shedding.
    "BITNEXUS_MAX_QUEUE_WAIT": "5",
}
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class DrillServer:
    """Start, kill and restart one server; `live` is the current process."""

    database_url: str
    log_dir: Path
    workers: int = 2
    threads: int = 16
    env: dict[str, str] | None = None
    live: LiveServer | None = None
    port: int = 0
    starts: int = 0

    def start(self) -> LiveServer:
        self.port = self.port or free_port()
        self.starts += 1
        env = {**os.environ, **ENV, **(self.env or {}), "BITNEXUS_DATABASE_URL": self.database_url}
        log = self.log_dir / f"run{self.starts}"
        log.mkdir(parents=True, exist_ok=True)
        command = [*BITNEXUS, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        proc = subprocess.Popen(
            [*command, "--threads", str(self.threads)],
            cwd=log,
            env=env,
            stdout=(log / "stdout.txt").open("w"),
            stderr=(log / "stderr.txt").open("w"),
            start_new_session=True,  # its own process group: killed whole, never leaked
        )
        self.live = LiveServer(proc, f"http://127.0.0.1:{self.port}", log)
        wait_ready(self.live)
        return self.live

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at once (the process group)."""
        if self.live is None:
            return
        proc = self.live.proc
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL the group whatever happened."""
        if self.live is None:
            return
        try:
            self.live.stop(signal.SIGTERM, timeout=40)
        finally:
            self.kill_all()

    def worker_pids(self) -> list[int]:
        if self.live is None:
            return []
        return children(self.live.proc.pid)

    def rss_kib(self) -> int:
        """Resident memory of the master and its workers, in KiB."""
        if self.live is None:
            return 0
        return sum(rss_kib(pid) for pid in [self.live.proc.pid, *self.worker_pids()])


def supervisor_reports(server: DrillServer) -> list[dict[str, Any]]:
    """Every supervisor decision any worker of any run logged (`supervisors.events` JSON
    lines on stderr), in the order each worker logged them, as {pid, supervisor, child,
    kind, reason}: these outlive a worker that exits."""
    events = []
    for log in sorted(server.log_dir.glob("run*/stderr.txt")):
        complete = log.read_text(errors="replace").split("\n")[:-1]  # not a line being written
        for line in complete:
            if line.startswith("{") and '"supervisors.events"' in line:
                record = json.loads(line)
                events.append(
                    {"pid": record["pid"]}
                    | {key: record.get(f"event_{key}") for key in EVENT_FIELDS}
                )
    return events


EVENT_FIELDS = ("seq", "supervisor", "child", "kind", "reason")


def gave_up(server: DrillServer, supervisor: str) -> set[int]:
    """The worker pids in which `supervisor` (a path) gave up."""
    return {
        e["pid"]
        for e in supervisor_reports(server)
        if e["kind"] == "gave_up" and e["supervisor"] == supervisor
    }


def children(pid: int) -> list[int]:
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in raw.split()]


def rss_kib(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def wait_until(predicate: object, deadline_s: float, what: str, pause: float = 0.1) -> float:
    """Poll an external process's state until `predicate()`; seconds it took, or fail."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(pause)  # polling another process: nothing in-process to wait on
    raise AssertionError(f"{what}: not within {deadline_s} s")


def make_admin(server: DrillServer, email: str = "root@example.com") -> int:
    """An admin created with the CLI, as an operator would; its id."""
    return create_admin(
        server.database_url, ENV, server.log_dir, email, "correct horse battery staple"
    )
