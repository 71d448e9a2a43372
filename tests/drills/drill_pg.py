"""The real PostgreSQL taken away: its server stopped and started, or a database's
connections terminated.

Stopping the server affects every database on it, so the drills that do it hold
`/tmp/bitnexus-pg-outage.lock` (flock) meanwhile: two drill runs never overlap their
outages. Anyone else sharing the server during a drill sees the outage too; run `make
chaos` on a machine of its own.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import devdb

LOCK_PATH = devdb.OUTAGE_LOCK
LOCK_WAIT = 600.0
START_WAIT = 30.0


def _cluster(action: str) -> None:
    for version in sorted(os.listdir("/etc/postgresql")):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
            check=True,
            capture_output=True,
            timeout=60,
        )


reachable = devdb.reachable


def outage_lock(wait: float = LOCK_WAIT) -> contextlib.AbstractContextManager[bool]:
    """Hold the outage lock; yields False if another process held it for `wait` seconds
    (`make bench` holds it too while it measures)."""
    return devdb.outage_lock(wait)


@contextmanager
def stopped() -> Iterator[None]:
    """PostgreSQL down for the block, started again afterwards whatever happens."""
    _cluster("stop")
    try:
        yield
    finally:
        start()


def keep_down() -> bool:
    """Stop PostgreSQL again if someone started it meanwhile (any pytest session of this
    project starts it when it finds it down); True if it had to."""
    if not reachable():
        return False
    _cluster("stop")
    return True


def start() -> None:
    if not reachable():
        _cluster("start")
    deadline = time.monotonic() + START_WAIT
    while not reachable():
        if time.monotonic() > deadline:
            raise AssertionError("PostgreSQL did not come back")
        time.sleep(0.2)  # polling an external server


def terminate_backends(database: str) -> int:
    """pg_terminate_backend on every connection to `database`; how many."""
    with devdb.admin_connection() as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
    return int(row[0]) if row else 0
