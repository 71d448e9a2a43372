"""The operator page in headless Chromium: a screenshot and the DOM show the live tree."""

from __future__ import annotations

import shutil
import struct
import subprocess
import threading
from pathlib import Path

import pytest
from web_support import OPERATOR, OPERATOR_TOKEN
from werkzeug.serving import make_server

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--virtual-time-budget=3000",  # lets the page's scripts run before the capture
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed through apt-get when missing (fails, never skips)."""
    found = shutil.which("chromium")
    if found is None:
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            subprocess.run(command, check=True, capture_output=True, timeout=600)
        found = shutil.which("chromium")
    assert found, "chromium is not installed and apt-get could not install it"
    return found


@pytest.fixture
def http_base(app):
    """The app on a real socket (bound before the thread starts, so no readiness wait)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, timeout=90, check=False)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_admin_page_draws_the_tree(chromium, http_base, client, services, tmp_path):
    # A crash first, so the page has a restart and a last crash to show.
    after = services.log.last_seq
    crashed = client.post(
        "/admin/supervision/root/services/accounts/accounts-1/crash", headers=OPERATOR
    )
    assert crashed.status_code == 202
    services.log.wait_for(lambda e: e.kind == "child_restarted", after=after, timeout=10)

    url = f"{http_base}/admin?token={OPERATOR_TOKEN}"
    shot = tmp_path / "admin.png"
    done = run_chromium(chromium, tmp_path / "profile-1", f"--screenshot={shot}", url)
    assert shot.exists(), done.stderr.decode(errors="replace")
    width, height = png_size(shot)
    assert (width, height) == (1280, 900)

    dom = run_chromium(chromium, tmp_path / "profile-2", "--dump-dom", url).stdout.decode()
    for path in ("root", "root/services", "root/services/accounts", "root/services/ledger"):
        assert f'data-path="{path}"' in dom, path
    assert 'class="card running"' in dom
    assert "last crash" in dom and "CrashRequested" in dom
    assert 'data-action="restart"' in dom and 'data-action="crash"' in dom


def test_admin_page_needs_the_operator(client, user):
    assert client.get("/admin").status_code == 401
    assert client.get("/admin?token=wrong").status_code == 401
    assert client.get("/admin", headers=user.headers).status_code == 403
    page = client.get(f"/admin?token={OPERATOR_TOKEN}", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b"Supervision tree" in page.data
