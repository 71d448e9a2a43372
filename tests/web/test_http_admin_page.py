"""The operator page in headless Chromium: a screenshot and the DOM show the live tree."""

from __future__ import annotations

import threading

import pytest
from chromium_support import png_size, run_chromium
from web_support import OPERATOR, OPERATOR_TOKEN
from werkzeug.serving import make_server


@pytest.fixture
def http_base(app):
    """The app on a real socket (bound before the thread starts, so no readiness wait)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


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


def test_admin_page_without_the_operator_is_a_sign_in_form(client, user):
    first = client.get("/admin")
    assert first.status_code == 200 and first.mimetype == "text/html"
    assert b'id="with-token"' in first.data and b'id="with-password"' in first.data
    wrong = client.get("/admin?token=wrong")
    assert wrong.status_code == 401 and b"not valid" in wrong.data
    not_admin = client.get("/admin", headers=user.headers)
    assert not_admin.status_code == 403 and b"not an admin" in not_admin.data
    assert b"Supervision" not in first.data + wrong.data + not_admin.data
    assert client.get("/admin/supervision").status_code == 401  # the API stays JSON
    page = client.get(f"/admin?token={OPERATOR_TOKEN}", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b"Supervision trees" in page.data
