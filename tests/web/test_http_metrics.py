"""`/metrics` of a real two-worker server: per-worker process metrics, the database pool,
per-actor call latency and message counts, the ledger head, OpenMetrics negotiation."""

from __future__ import annotations

import time
import urllib.request

import pytest
from live_server import start
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

PASSWORD = "metrics-password-1"


@pytest.fixture
def live(engine, database_url, tmp_path):
    env = {
        "BITNEXUS_SECRET_KEY": "metrics-secret-0123456789-0123456789-0123",
        "BITNEXUS_ARGON2_MEMORY_COST": "64",
        "BITNEXUS_ARGON2_TIME_COST": "1",
        "BITNEXUS_ACCOUNTS_POOL": "1",
        "BITNEXUS_PRODUCTS_POOL": "1",
        "BITNEXUS_TRANSACTIONS_POOL": "2",
    }
    server = start(database_url, tmp_path, env, workers=2)
    yield server
    server.stop()


def scrape(live, accept: str | None = None) -> tuple[str, str]:
    request = urllib.request.Request(live.base + "/metrics")
    if accept:
        request.add_header("accept", accept)
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.headers["content-type"], response.read().decode()


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(found: list, metric: str, **labels: str) -> float:
    matching = [s.value for s in found if s.name == metric and labels.items() <= s.labels.items()]
    assert matching, f"no {metric} {labels}"
    return sum(matching)


def test_metrics_cover_workers_pool_actors_and_the_ledger(live):
    user = {"email": "metrics@example.com", "name": "Metrics", "password": PASSWORD}
    assert live.request("POST", "/api/v1/auth/register", {"user": user}).status == 201
    login = live.request(
        "POST", "/api/v1/auth/login", {"email": user["email"], "password": PASSWORD}
    )
    bearer = {"authorization": f"Bearer {login.body['data']['token']}"}
    deposit = {"transaction": {"kind": "deposit", "amount": "5.00", "currency": "EUR"}}
    posted = live.request("POST", "/api/v1/transactions", deposit, headers=bearer)
    assert posted.status == 201
    # Each worker copies its process gauges every second: wait for both to have written.
    deadline = time.monotonic() + 15
    while True:
        found = samples(scrape(live)[1])
        pids = {s.labels["pid"] for s in found if s.name == "bitnexus_worker_resident_memory_bytes"}
        if len(pids) == 2 or time.monotonic() > deadline:
            break
    assert len(pids) == 2, pids
    for name in ("bitnexus_worker_cpu_seconds", "bitnexus_worker_open_fds"):
        assert {s.labels["pid"] for s in found if s.name == name} == pids
    assert value(found, "bitnexus_worker_resident_memory_bytes") > 10_000_000
    assert value(found, "bitnexus_worker_threads") >= 2 * 2  # request threads and actors
    assert value(found, "bitnexus_db_pool_size") > 0
    assert value(found, "bitnexus_db_pool_checked_out") >= 0
    assert value(found, "bitnexus_actor_call_seconds_count", name="accounts", outcome="ok") >= 2
    assert value(found, "bitnexus_actor_call_seconds_count", name="transactions") >= 1
    assert value(found, "bitnexus_actor_call_seconds_count", name="ledger") >= 1  # internal
    assert value(found, "bitnexus_actor_messages_total", name="accounts", kind="call") >= 2
    assert value(found, "bitnexus_ledger_head_index") == posted.body["data"]["block_index"]
    assert value(found, "bitnexus_http_shed_total") == 0


def test_openmetrics_is_negotiated(live):
    content_type, text = scrape(live, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")
    names = {family.name for family in openmetrics_families(text)}
    assert "bitnexus_http_requests" in names  # counters lose _total in OpenMetrics
    content_type, text = scrape(live, "text/plain")
    assert content_type.startswith("text/plain")
    assert samples(text)
