"""Operator endpoints over the live tree: the view, events, restart, terminate, crash."""

from __future__ import annotations

import os

from prometheus_client.parser import text_string_to_metric_families
from web_support import OPERATOR

from supervisors import walk


def find(node, path):
    return next((n for n in walk(node) if n["path"] == path), None)


def test_supervision_shows_the_live_tree_and_pid(client):
    body = client.get("/admin/supervision", headers=OPERATOR).get_json()["data"]
    assert body["pid"] == os.getpid()
    for path in ("root/services", "root/services/accounts", "root/services/ledger"):
        assert find(body, path)["status"] == "running"


def test_events_after_a_sequence(client, services):
    everything = client.get("/admin/supervision/events", headers=OPERATOR).get_json()
    last = everything["meta"]["last_seq"]
    assert last == everything["data"][-1]["seq"]
    assert (
        client.get(f"/admin/supervision/events?after={last}", headers=OPERATOR).get_json()["data"]
        == []
    )


def test_crash_restarts_through_the_real_failure_path(client, services):
    after = services.log.last_seq
    path = "root/services/products/products-1"
    assert client.post(f"/admin/supervision/{path}/crash", headers=OPERATOR).status_code == 202
    services.log.wait_for(lambda e: e.kind == "child_restarted", after=after, timeout=10)
    node = find(client.get("/admin/supervision", headers=OPERATOR).get_json()["data"], path)
    assert node["restarts"]["total"] == 1
    assert node["last_crash"]["type"] == "CrashRequested"
    kinds = [e["kind"] for e in services.events(after)]
    assert kinds[:2] == ["child_crashed", "child_restarted"]


def test_terminate_then_restart(client, user):
    path = "root/services/accounts"
    assert client.post(f"/admin/supervision/{path}/terminate", headers=OPERATOR).status_code == 200
    tree = client.get("/admin/supervision", headers=OPERATOR).get_json()["data"]
    assert find(tree, path)["status"] == "stopped"
    assert client.get("/api/v1/auth/me", headers=user.headers).status_code == 503
    assert client.get("/ready").status_code == 503
    assert client.post(f"/admin/supervision/{path}/restart", headers=OPERATOR).status_code == 200
    assert client.get("/api/v1/auth/me", headers=user.headers).status_code == 200
    assert client.get("/ready").status_code == 200


def test_restart_of_a_running_node(client, services):
    path = "root/services/ledger"
    response = client.post(f"/admin/supervision/{path}/restart", headers=OPERATOR)
    assert response.status_code == 200
    kinds = [(e["kind"], e["child"]) for e in services.events()]
    assert ("child_terminated", "ledger") in kinds


def test_unknown_node_is_404(client):
    for path in ("root/nothing", "elsewhere/services", "root/services/nothing"):
        response = client.post(f"/admin/supervision/{path}/crash", headers=OPERATOR)
        assert response.status_code == 404, path


def test_metrics_show_http_tree_and_ledger(client, user):
    client.get("/health")
    deposit = {"transaction": {"kind": "deposit", "amount": "1", "currency": "USD"}}
    assert (
        client.post("/api/v1/transactions", json=deposit, headers=user.headers).status_code == 201
    )
    text = client.get("/metrics").get_data(as_text=True)
    assert 'bitnexus_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'bitnexus_actor_inbox_depth{name="accounts"}' in text
    assert "bitnexus_supervisor_events_total" in text
    assert "bitnexus_http_request_duration_seconds_bucket" in text
    assert 'bitnexus_ledger_transactions_total{currency="USD",kind="deposit"}' in text


def samples(client):
    """Every sample of the /metrics exposition: (name, sorted labels) -> value."""
    text = client.get("/metrics").get_data(as_text=True)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_ledger_metrics_count_each_posted_transaction_once(client, user):
    """The ledger records its metrics itself: replays and refusals are not counted, and
    each block's size and commit time are observed once."""
    usd = ("bitnexus_ledger_transactions_total", (("currency", "USD"), ("kind", "deposit")))
    blocks, size = ("bitnexus_ledger_block_size_count", ()), ("bitnexus_ledger_block_size_sum", ())
    commits = ("bitnexus_ledger_commit_seconds_count", ())
    before = samples(client)
    body = {"transaction": {"kind": "deposit", "amount": "1", "currency": "USD"}}
    keyed = {**user.headers, "idempotency-key": "metrics-1"}
    for headers in (user.headers, keyed, keyed):  # the third is a replay
        assert client.post("/api/v1/transactions", json=body, headers=headers).status_code == 201
    refused = {"transaction": {"kind": "withdrawal", "amount": "99", "currency": "USD"}}
    assert (
        client.post("/api/v1/transactions", json=refused, headers=user.headers).status_code == 422
    )
    after = samples(client)
    assert after[usd] - before.get(usd, 0) == 2
    assert after[blocks] - before.get(blocks, 0) == 2  # one block each: calls were one by one
    assert after[size] - before.get(size, 0) == 2
    assert after[commits] - before.get(commits, 0) == 2
    assert ("bitnexus_ledger_commit_seconds_bucket", (("le", "+Inf"),)) in after
