"""`bitnexus console`: a Python shell with the services running, fed through a pipe; the
standard REPL, and IPython when it is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BITNEXUS = [sys.executable, "-m", "bitnexus.cli"]
SESSION = """\
user = accounts.create_user({"email": "ada@example.com", "name": "Ada", "password": "p" * 12})
print("created", user.email, accounts.get_user(user.id) == user)
print("tree", app.tree.running)
print("modules", products.__name__, transactions.__name__, ledger.__name__)
"""
# Stands in for IPython: runs the statements from stdin in the namespace it is given.
FAKE_IPYTHON = """\
import sys


def start_ipython(argv, user_ns):
    print("ipython", argv)
    exec(sys.stdin.read(), user_ns)
"""


def console(database_url: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BITNEXUS, "console"],
        input=SESSION,
        cwd=cwd,
        env={
            **os.environ,
            "BITNEXUS_DATABASE_URL": database_url,
            "BITNEXUS_ARGON2_TIME_COST": "1",
            "BITNEXUS_ARGON2_MEMORY_COST": "64",
            "BITNEXUS_ARGON2_PARALLELISM": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_the_session_ran(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    assert "created ada@example.com True" in done.stdout, (done.stdout, done.stderr)
    assert "tree True" in done.stdout
    assert "modules actors.products actors.transactions actors.ledger" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_console_runs_the_services_and_reads_statements_from_stdin(
    database_url, engine, tmp_path
):
    done = console(database_url, tmp_path)
    assert_the_session_ran(done)
    assert "BitNexus console" in done.stderr  # the banner, on stderr as the REPL's is
    assert "ipython" not in done.stdout


def test_the_console_is_ipython_when_it_is_installed(database_url, engine, tmp_path):
    (tmp_path / "IPython.py").write_text(FAKE_IPYTHON)
    done = console(database_url, tmp_path, PYTHONPATH=str(tmp_path))
    assert_the_session_ran(done)
    assert "BitNexus console" in done.stdout  # printed before IPython starts
    assert "ipython ['--no-banner']" in done.stdout
