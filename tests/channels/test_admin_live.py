"""The operator page, live through the `phoenix` client it serves, in headless Chromium
against gunicorn with 2 workers on PostgreSQL."""

from __future__ import annotations

import re

from channels_support import OPERATOR_TOKEN, ws_url
from chromium_support import png_pixels, png_size, run_chromium

OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
RUNNING_GREEN = (46, 157, 79)  # .card.running's left border, #2e9d4f


def green_pixels(path) -> int:
    return sum(1 for row in png_pixels(path) for pixel in row if pixel == RUNNING_GREEN)


def await_both_workers(server, node):
    """Until a join of admin:supervision returns both workers' trees (a fresh server's
    workers start, and send their first snapshot, at their own pace)."""
    node.connect("op", ws_url(server.base), OPERATOR_TOKEN)
    for _ in range(20):
        joined = node.join("op", "admin:supervision")
        if len(joined["response"]["workers"]) == 2:
            return
        node.drain(0.5)
    raise AssertionError(joined)


def test_the_page_shows_every_workers_tree_live(server, node, chromium, tmp_path):
    await_both_workers(server, node)
    # A crash first, on whichever worker this lands: its event and last crash show.
    reply = server.request(
        "POST", "/admin/supervision/root/services/ledger/crash", headers=OPERATOR
    )
    assert reply.status == 202
    url = f"{server.base}/admin?token={OPERATOR_TOKEN}"
    dom = run_chromium(chromium, tmp_path / "p1", "--dump-dom", url, budget_ms=8000).stdout.decode()
    assert 'id="live" class="on">live<' in dom, dom[:2000]
    pids = set(re.findall(r'<section class="worker" data-pid="(\d+)"', dom))
    assert len(pids) == 2, pids  # both workers' trees, side by side
    assert dom.count('<li class="node" data-path="root/services/ledger"') == 2
    assert dom.count('<li class="node" data-path="root/endpoint/sockets"') == 2
    assert 'class="card running"' in dom and 'data-action="terminate"' in dom
    assert "child_restarted" in dom and "root/services" in dom  # the events list
    assert dom.count('data-chart="rate"') == 2

    wide = tmp_path / "wide.png"
    run_chromium(chromium, tmp_path / "p2", f"--screenshot={wide}", url, budget_ms=8000)
    assert png_size(wide) == (1280, 900)
    assert green_pixels(wide) > 500  # running nodes drawn in both trees

    narrow = tmp_path / "narrow.png"
    run_chromium(
        chromium, tmp_path / "p3", f"--screenshot={narrow}", url, size=(390, 844), budget_ms=8000
    )
    assert png_size(narrow) == (390, 844)
    rows = png_pixels(narrow)
    assert green_pixels(narrow) > 100  # one tree, readable at phone width
    # Nothing overflows to the right: left of the scroll bar (15 px) is page background.
    assert {row[-20] for row in rows[: len(rows) // 2]} == {(246, 247, 249)}
    narrow_dom = run_chromium(
        chromium, tmp_path / "p4", "--dump-dom", url, size=(390, 844), budget_ms=8000
    ).stdout.decode()
    assert len(re.findall(r'<section class="worker" data-pid="\d+" hidden="">', narrow_dom)) == 1


def test_the_page_without_a_token_is_a_sign_in_form(server, chromium, tmp_path):
    shot = tmp_path / "signin.png"
    run_chromium(
        chromium, tmp_path / "p", f"--screenshot={shot}", f"{server.base}/admin", size=(390, 844)
    )
    assert png_size(shot) == (390, 844)
    dom = run_chromium(
        chromium, tmp_path / "q", "--dump-dom", f"{server.base}/admin"
    ).stdout.decode()
    assert "Operator sign-in" in dom and 'name="password"' in dom
    pixels = {p for row in png_pixels(shot) for p in row}
    assert (255, 255, 255) in pixels and len(pixels) > 20  # a drawn form, not a blank page
