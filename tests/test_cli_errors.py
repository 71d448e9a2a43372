"""Every mistake at the command line is one line on stderr and a non-zero exit, never a
traceback; the serve checks come before the banner prints an operator token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import devdb
import pytest

BITNEXUS = [sys.executable, "-m", "bitnexus"]


def run(args, cwd, env=None, prefix=(), **kwargs) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BITNEXUS_")}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [*prefix, *BITNEXUS, *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "token" not in done.stderr
    return lines[0]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:secret@h:notaport/db", "not a database URL"),
        ("mysql://u@h/db", "unsupported scheme 'mysql'"),
        ("postgres://u@h", "names no database"),
        ("not a url", "unsupported scheme"),
    ],
)
@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["db", "create"]])
def test_a_bad_database_url(tmp_path, url, expected, command):
    line = one_line_error(run(command, tmp_path, {"DATABASE_URL": url}))
    assert line.startswith("bitnexus: configuration error: DATABASE_URL=")
    assert expected in line
    assert "secret" not in line  # a password is masked


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"]])
def test_a_missing_database_names_bitnexus_db_create(tmp_path, command):
    name = "bitnexus_test_never_created"
    url = f"postgres://{devdb.PG_USER}@{devdb.PG_HOST}:{devdb.PG_PORT}/{name}"
    if command[0] == "serve":
        command = ["serve", "--port", str(unused_port())]
    line = one_line_error(run(command, tmp_path, {"DATABASE_URL": url}))
    assert f"database '{name}' does not exist" in line
    assert "bitnexus db create" in line


@pytest.mark.parametrize("command", [["migrate"], ["serve"]])
def test_a_database_that_does_not_answer(tmp_path, command):
    url = f"postgresql://postgres@127.0.0.1:{unused_port()}/bitnexus"
    if command[0] == "serve":
        command = ["serve", "--port", str(unused_port())]
    line = one_line_error(run(command, tmp_path, {"DATABASE_URL": url}))
    assert "cannot reach PostgreSQL at 127.0.0.1:" in line


def unprivileged() -> list[str]:
    """Run as `nobody` when we are root, for whom no folder is read-only."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture
def app_folder() -> Iterator[Path]:
    """A working folder `nobody` may enter (pytest's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory(prefix="bitnexus-ro-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


@pytest.mark.parametrize("var_exists", [False, True])
@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["db", "setup"]])
def test_a_read_only_var_folder(app_folder, var_exists, command):
    if var_exists:
        (app_folder / "var").mkdir(mode=0o555)
    if command[0] == "serve":
        command = ["serve", "--port", str(unused_port())]
    line = one_line_error(run(command, app_folder, prefix=unprivileged()))
    assert str(app_folder / "var") in line
    assert "writable" in line


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--port", "99999", "between 1 and 65535"),
        ("--port", "http", "must be an integer"),
        ("--threads", "0", "must be at least 1"),
        ("--workers", "0", "must be at least 1"),
    ],
)
def test_bad_serve_arguments(tmp_path, flag, value, expected):
    done = run(["serve", flag, value], tmp_path)
    line = one_line_error(done)
    assert done.returncode == 2
    assert line.startswith(f"bitnexus serve: argument {flag}: '{value}' ")
    assert expected in line


def test_a_port_in_use_is_refused_before_the_banner(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(run(["serve", "--port", str(port)], tmp_path))
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert not (tmp_path / "var" / "secret_key").exists()  # nothing was set up either


def test_admin_create_without_a_terminal_or_password_stdin(tmp_path):
    done = run(["admin", "create", "--email", "a@example.com"], tmp_path, stdin=subprocess.DEVNULL)
    assert "--password-stdin" in one_line_error(done)
    assert not (tmp_path / "var").exists()  # refused before touching the database


def test_a_missing_command_is_one_line_too(tmp_path):
    assert "see bitnexus --help" in one_line_error(run([], tmp_path))
