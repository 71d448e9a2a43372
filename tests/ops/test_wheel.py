"""The wheel alone serves everything: installed outside the repository, run from an empty folder."""

from __future__ import annotations

import subprocess
import urllib.request
import zipfile
from pathlib import Path

from live_server import LiveServer, free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_every_file_the_server_serves_or_runs(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    served = subprocess.run(
        ["git", "ls-files", "web/templates", "web/static", "migrations"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "web/static/phoenix.min.js" in served and "web/templates/admin.html" in served
    assert sorted(set(served) - names) == []


def test_migrate_then_serve_from_an_empty_folder(installed, tmp_path):
    site = subprocess.run(
        [installed.bin / "python", "-c", "import web; print(web.__file__)"],
        cwd=tmp_path,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(installed.root) in site.stdout  # the wheel's copy, not the repository's
    env = installed.env(BITNEXUS_ADMIN_TOKEN="operator-token", BITNEXUS_ARGON2_MEMORY_COST="64")
    done = subprocess.run(
        ["bitnexus", "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    port = free_port()
    with (tmp_path / "stderr.txt").open("w") as err:
        proc = subprocess.Popen(
            ["bitnexus", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = LiveServer(proc, f"http://127.0.0.1:{port}", tmp_path)
    try:
        wait_ready(server)
        assert server.request("GET", "/health").body["status"] == "healthy"
        with urllib.request.urlopen(f"{server.base}/admin?token=operator-token") as page:
            assert page.status == 200
            assert b"<html" in page.read().lower()
        with urllib.request.urlopen(f"{server.base}/admin/assets/phoenix.min.js") as script:
            assert script.read() == (REPO / "web/static/phoenix.min.js").read_bytes()
        with urllib.request.urlopen(f"{server.base}/api/docs/swagger-ui-bundle.js") as ui:
            assert ui.status == 200 and len(ui.read()) > 100_000  # Swagger UI, from a package
        with urllib.request.urlopen(f"{server.base}/api/docs") as docs:
            assert b"swagger-ui" in docs.read()
        user = {"email": "wheel@example.com", "name": "Wheel", "password": "wheel-password-1"}
        reply = server.request("POST", "/api/v1/auth/register", {"user": user})
        assert reply.status == 201, reply.body
        assert reply.body["data"]["email"] == "wheel@example.com"
    finally:
        assert server.stop() == 0
    assert (tmp_path / "var" / "bitnexus.db").is_file()
