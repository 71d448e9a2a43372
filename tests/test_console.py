"""`bitnexus console`: a Python shell with the services running, fed through a pipe."""

from __future__ import annotations

import os
import subprocess
import sys

BITNEXUS = [sys.executable, "-m", "bitnexus.cli"]
SESSION = """\
user = accounts.create_user({"email": "ada@example.com", "name": "Ada", "password": "p" * 12})
print("created", user.email, accounts.get_user(user.id) == user)
print("tree", app.tree.running)
"""


def test_the_console_runs_the_services_and_reads_statements_from_stdin(
    database_url, engine, tmp_path
):
    env = {
        **os.environ,
        "BITNEXUS_DATABASE_URL": database_url,
        "BITNEXUS_ARGON2_TIME_COST": "1",
        "BITNEXUS_ARGON2_MEMORY_COST": "64",
        "BITNEXUS_ARGON2_PARALLELISM": "1",
    }
    done = subprocess.run(
        [*BITNEXUS, "console"],
        input=SESSION,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "created ada@example.com True" in done.stdout, (done.stdout, done.stderr)
    assert "tree True" in done.stdout
    assert "BitNexus console" in done.stderr  # the banner, on stderr as the REPL's is
    assert "Traceback" not in done.stderr
