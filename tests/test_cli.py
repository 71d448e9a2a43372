"""The `bitnexus` console script: migrate from any directory; serve prints the tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from live_server import free_port

from bitnexus.database import migrate
from bitnexus.database.engine import make_engine

BITNEXUS = [sys.executable, "-m", "bitnexus.cli"]


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "BITNEXUS_DATABASE_URL": url, "BITNEXUS_ARGON2_MEMORY_COST": "64"}


def test_migrate_on_an_empty_database_from_another_directory(
    fresh_database_url, tmp_path, config_for
):
    for _ in range(2):  # and a second run is a no-op
        done = subprocess.run(
            [*BITNEXUS, "migrate"],
            cwd=tmp_path,
            env=_env(fresh_database_url),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    engine = make_engine(config_for(fresh_database_url))
    try:
        assert migrate.current(engine) is not None
    finally:
        engine.dispose()


def test_default_database_is_created_under_var(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BITNEXUS_")}
    done = subprocess.run(
        [*BITNEXUS, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "bitnexus.db").is_file()


def test_bad_configuration_exits_2_naming_the_variable(tmp_path):
    env = {**os.environ, "BITNEXUS_ACCOUNTS_POOL": "zero"}
    done = subprocess.run(
        [*BITNEXUS, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "BITNEXUS_ACCOUNTS_POOL" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_the_tree_and_stops_on_a_signal(tmp_path, signum, config_for):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(config_for(url))
    migrate.upgrade(engine)
    engine.dispose()
    port = free_port()
    proc = subprocess.Popen(
        [*BITNEXUS, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in proc.stdout:  # the tree is printed once every child is up
            lines.append(line)
            if line.strip().startswith("accounts-"):
                break
        proc.send_signal(signum)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(lines) + rest
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/api/v1" in err  # the banner names the port it bound
    assert text.startswith("root [supervisor one_for_one] running")
    for node in ("services", "accounts", "products"):
        assert f"{node} [" in text
    assert Path(tmp_path / "serve.db").exists()
