"""A real `bitnexus serve` process on a free port, and a tiny JSON HTTP client for it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READY_DEADLINE = 30.0
BITNEXUS = [sys.executable, "-m", "bitnexus.cli"]


def free_port() -> int:
    """A port nothing listens on now (never the default 4000, which a dev server may hold)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_admin(
    database_url: str, env: dict[str, str], cwd: Path, email: str, password: str
) -> int:
    """An admin created with `bitnexus admin create`, as an operator would; its id."""
    done = subprocess.run(
        [*BITNEXUS, "admin", "create", "--email", email, "--password-stdin"],
        input=password + "\n",
        env={**os.environ, **env, "BITNEXUS_DATABASE_URL": database_url},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "created admin" in done.stdout, done.stdout
    return int(done.stdout.rsplit("(id ", 1)[1].rstrip(")\n"))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class LiveServer:
    proc: subprocess.Popen
    base: str
    log_dir: Path

    def request(
        self, method: str, path: str, body: object = None, headers: dict | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return _reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            return _reply(exc.code, exc.headers, exc.read())

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)

    def stderr(self) -> str:
        return (self.log_dir / "stderr.txt").read_text(errors="replace")


def _reply(status: int, headers: Any, raw: bytes) -> Reply:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Reply(status, {k.lower(): v for k, v in headers.items()}, body)


def start(
    database_url: str,
    cwd: Path,
    env: dict[str, str],
    workers: int = 1,
    threads: int = 8,
    until: str = "ready",
    port: int | None = None,
) -> LiveServer:
    """Start `bitnexus serve` (on ``port``, or a free one); return once `/ready` is 200
    (`until="answering"`: once it answers at all)."""
    port = port or free_port()
    # Shedding is tested on its own (drill 5); a loaded machine must not shed these.
    full_env = {
        **os.environ,
        "BITNEXUS_MAX_QUEUE_WAIT": "5",
        **env,
        "BITNEXUS_DATABASE_URL": database_url,
    }
    out = (cwd / "stdout.txt").open("w")
    err = (cwd / "stderr.txt").open("w")
    command = [*BITNEXUS, "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [*command, "--threads", str(threads)], cwd=cwd, env=full_env, stdout=out, stderr=err
    )
    server = LiveServer(proc, f"http://127.0.0.1:{port}", cwd)
    wait_ready(server, statuses=(200,) if until == "ready" else (200, 503))
    return server


def wait_ready(server: LiveServer, statuses: tuple[int, ...] = (200,)) -> None:
    """Poll /ready until 200 (or one of `statuses`): an external process becoming ready,
    bounded by a deadline."""
    deadline = time.monotonic() + READY_DEADLINE
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited {server.proc.returncode}: {server.stderr()}")
        try:
            if server.request("GET", "/ready").status in statuses:
                return
        except OSError:
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"server not ready within {READY_DEADLINE} s: {server.stderr()}")
