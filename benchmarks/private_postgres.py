"""A throwaway PostgreSQL cluster of the benchmark's own, for a setting the shared server
must not be restarted for (``track_commit_timestamp`` takes effect only at a server start).

initdb into a temporary directory, start on a free loopback port with its socket in that
directory, one database; stopped and deleted afterwards. The shared server on 5432 is
never touched. As root, the cluster runs as the `postgres` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.server import free_port

DBNAME = "bench"
START_SECONDS = 60


def _bin_dir() -> Path:
    """The newest installed server's programs (Debian keeps them out of PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("no pg_ctl installed")
    return Path(pg_ctl).parent


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextmanager
def cluster(**settings: str) -> Iterator[str]:
    """A running cluster with ``settings`` (``postgresql.conf`` names); yields the
    SQLAlchemy URL of its one database."""
    owner = "postgres" if os.geteuid() == 0 else None
    bin_dir = _bin_dir()
    top = Path(tempfile.mkdtemp(prefix="bitnexus-bench-pg-"))
    data = top / "data"
    try:
        if owner:
            entry = pwd.getpwnam(owner)
            os.chown(top, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                       "-A", "trust", "--no-sync"], owner),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        port = free_port()
        options = [f"-p {port}", f"-k {top}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {name}={value}" for name, value in settings.items()]
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(top / "log.txt"),
                       "-w", "-t", str(START_SECONDS), "-o", " ".join(options), "start"], owner),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        try:
            subprocess.run(
                [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                 "-U", "postgres", DBNAME],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DBNAME}"
        finally:
            subprocess.run(
                _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                           "stop"], owner),
                check=False, capture_output=True,
            )  # fmt: skip
    finally:
        shutil.rmtree(top, ignore_errors=True)
