"""The operator page, live through the `phoenix` client it serves, in headless Chromium
(driven by playwright-core) against gunicorn with 2 workers on PostgreSQL."""

from __future__ import annotations

import re

from channels_support import OPERATOR_TOKEN, open_page
from chromium_support import png_pixels, png_size, run_chromium

RUNNING_GREEN = (46, 157, 79)  # .card.running's left border, #2e9d4f
# Joined, and both workers' trees drawn (a fresh server's workers send their first
# snapshot at their own pace).
BOTH_WORKERS_LIVE = (
    "document.getElementById('live').className === 'on'"
    " && document.querySelectorAll('section.worker').length === 2"
)


def green_pixels(path) -> int:
    return sum(1 for row in png_pixels(path) for pixel in row if pixel == RUNNING_GREEN)


def test_the_page_shows_every_workers_tree_live(server, chromium, tmp_path):
    url = f"{server.base}/admin?token={OPERATOR_TOKEN}"
    wide = tmp_path / "wide.png"
    crash = 'section.worker li[data-path="root/services/ledger"] [data-action="crash"]'
    dom = open_page(
        chromium,
        url,
        {"until": BOTH_WORKERS_LIVE},
        # The page's own button: the crash's event arrives live in the events list, and
        # the notice says which worker the POST reached.
        {"click": crash},
        {"until": "document.getElementById('events').textContent.includes('child_restarted')"},
        {"until": "document.getElementById('notice').textContent.includes('crash')"},
        {"screenshot": str(wide)},
    )
    pids = set(re.findall(r'<section class="worker" data-pid="(\d+)"', dom))
    assert len(pids) == 2, pids  # both workers' trees, side by side
    assert dom.count('<li class="node" data-path="root/services/ledger"') == 2
    assert dom.count('<li class="node" data-path="root/endpoint/sockets"') == 2
    assert 'class="card running"' in dom and 'data-action="terminate"' in dom
    assert dom.count('data-chart="rate"') == 2
    events = dom[dom.index('<div id="events">') :]
    assert "root/services" in events and "ledger" in events
    assert png_size(wide) == (1280, 900)
    assert green_pixels(wide) > 500  # running nodes drawn in both trees

    narrow = tmp_path / "narrow.png"
    narrow_dom = open_page(
        chromium,
        url,
        {"until": BOTH_WORKERS_LIVE},
        {"check": "document.documentElement.scrollWidth <= window.innerWidth"},  # no overflow
        {"screenshot": str(narrow)},
        size=(390, 844),
    )
    assert png_size(narrow) == (390, 844)
    rows = png_pixels(narrow)
    assert green_pixels(narrow) > 100  # one tree, readable at phone width
    # The right margin is page background all the way down: no card runs off the screen.
    assert {row[-3] for row in rows} == {(246, 247, 249)}
    # One tree at a time: the other worker's is there, hidden behind the picker.
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
