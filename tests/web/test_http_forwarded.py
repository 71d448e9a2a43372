"""The per-address login limit counts the real client, through a real server on both
databases: X-Forwarded-For is believed only from BITNEXUS_TRUSTED_PROXIES, and then only
its right-most hop that no trusted proxy added."""

from __future__ import annotations

import pytest
from live_server import start
from security_support import ENV

CLIENT_LIMIT = 20


def failed_logins(live, forwarded: list[str]) -> list[int]:
    body = {"email": "nobody@example.com", "password": "wrong password"}
    statuses = []
    for n, header in enumerate(forwarded):
        body["email"] = f"nobody{n}@example.com"  # a new account each time: the client limit
        statuses.append(
            live.request("POST", "/api/v1/auth/login", body, {"x-forwarded-for": header}).status
        )
    return statuses


@pytest.mark.parametrize("trusted", [None, "127.0.0.1"])
def test_a_spoofed_forwarded_header_does_not_escape_the_limit(
    engine, database_url, tmp_path, trusted
):
    env = ENV if trusted is None else {**ENV, "BITNEXUS_TRUSTED_PROXIES": trusted}
    live = start(database_url, tmp_path, env, workers=1)
    try:
        # Behind a trusted proxy the client can only prepend hops: the proxy appends the peer.
        spoofed = [f"10.0.{n}.1, 203.0.113.7" for n in range(CLIENT_LIMIT + 5)]
        statuses = failed_logins(live, spoofed)
        assert statuses[:CLIENT_LIMIT] == [401] * CLIENT_LIMIT
        assert set(statuses[CLIENT_LIMIT:]) == {429}, statuses
    finally:
        live.stop()


def test_a_trusted_proxy_names_distinct_clients(engine, database_url, tmp_path):
    live = start(
        database_url, tmp_path, {**ENV, "BITNEXUS_TRUSTED_PROXIES": "127.0.0.1"}, workers=1
    )
    try:
        distinct = [f"198.51.100.{n}" for n in range(CLIENT_LIMIT + 5)]
        assert set(failed_logins(live, distinct)) == {401}
    finally:
        live.stop()
