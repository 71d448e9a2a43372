"""The local development PostgreSQL: start it when down, create and drop throwaway databases.

Shared by the tests (tests/conftest.py) and the benchmarks, so both find and start the
server the same way and never touch a database they did not create.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_START_WAIT_SECONDS = 20.0


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname="postgres",
        connect_timeout=3,
        autocommit=True,
    )


def reachable() -> bool:
    try:
        admin_connection().close()
    except psycopg.OperationalError:
        return False
    return True


def start_clusters() -> str:
    """Start every installed cluster's `main`; returns their output for a failure report."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    output = []
    for version in versions:
        proc = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        output.append(
            f"pg_ctlcluster {version} main start -> {proc.returncode}: "
            f"{proc.stdout.strip()} {proc.stderr.strip()}"
        )
    return "\n".join(output) or "no cluster under /etc/postgresql"


def start_postgres() -> str | None:
    """Make sure PostgreSQL answers; None when it does, else the report of what was tried."""
    if reachable():
        return None
    report = start_clusters()
    deadline = time.monotonic() + PG_START_WAIT_SECONDS
    while time.monotonic() < deadline:
        if reachable():
            return None
        time.sleep(0.25)  # polling an external server we just started; nothing to wait on
    return report


def url(dbname: str) -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def create_database(prefix: str) -> str:
    """Create a uniquely named empty database (``prefix`` + pid + random); its name."""
    name = f"{prefix}{os.getpid()}_{secrets.token_hex(4)}"
    with admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str) -> None:
    """Drop a database, terminating whatever is still connected to it."""
    with admin_connection() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def database(prefix: str) -> Iterator[str]:
    """A fresh database for the duration of the block; yields its URL."""
    name = create_database(prefix)
    try:
        yield url(name)
    finally:
        drop_database(name)


def drop_stale_databases(prefix: str) -> None:
    """Drop databases named ``prefix`` + pid left by processes that died."""
    with admin_connection() as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (prefix.replace("_", r"\_") + "%",),
            )
        ]
    for name in names:
        pid = name.removeprefix(prefix).split("_", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            drop_database(name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# The reliability drills stop the whole server only while holding this lock, and the
# benchmarks hold it while they measure: neither sees the other's outage.
OUTAGE_LOCK = "/tmp/bitnexus-pg-outage.lock"


@contextmanager
def outage_lock(wait: float) -> Iterator[bool]:
    """Hold the outage lock for the block; yields False if it stayed busy for ``wait`` s."""
    with open(OUTAGE_LOCK, "a") as handle:
        deadline = time.monotonic() + wait
        held = False
        while not held and time.monotonic() < deadline:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                time.sleep(0.5)  # another process holds it: polling
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)
