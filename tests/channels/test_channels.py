"""Phoenix Channels through the real server (gunicorn, 2 workers, PostgreSQL) and the
official `phoenix` client under Node."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request

from channels_support import IDLE_TIMEOUT, OPERATOR_TOKEN, register, server_env, ws_url
from live_server import start
from prometheus_client.parser import text_string_to_metric_families

from web import tokens

TOPIC_EVENTS = ["new_transaction", "product_status_changed", "commission_earned"]


def upgrade_status(base: str, token: str | None) -> int:
    """The status of a WebSocket upgrade request with ``token``."""
    query = "vsn=2.0.0" + (f"&token={token}" if token is not None else "")
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(
            "GET",
            f"/socket/websocket?{query}",
            headers={
                "upgrade": "websocket",
                "connection": "Upgrade",
                "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
                "sec-websocket-version": "13",
            },
        )
        return conn.getresponse().status
    finally:
        conn.close()


def post_tx(server, user, **attrs):
    reply = server.request("POST", "/api/v1/transactions", {"transaction": attrs}, user.headers)
    return reply


def deposit(server, user, amount="10.00"):
    reply = post_tx(server, user, kind="deposit", amount=amount, currency="EUR")
    assert reply.status == 201, reply.body
    return reply.body["data"]


def shown(server, tx_id, user):
    reply = server.request("GET", f"/api/v1/transactions/{tx_id}", headers=user.headers)
    assert reply.status == 200
    return reply.body["data"]


def test_a_bad_or_missing_token_is_refused_at_the_upgrade(server, node):
    user = register(server)
    expired = tokens.issue(
        "live-secret-key-for-the-channel-tests-0123456789", user.id, "user", generation=0, now=1
    )
    assert upgrade_status(server.base, None) == 403
    assert upgrade_status(server.base, "forged.token.here") == 403
    assert upgrade_status(server.base, expired) == 403
    node.connect("bad", ws_url(server.base), "forged")
    node.wait(lambda e: e["type"] == "error" and e["id"] == "bad")
    node.connect("good", ws_url(server.base), user.token)
    node.wait(lambda e: e["type"] == "open" and e["id"] == "good")
    assert not any(e["type"] == "open" and e["id"] == "bad" for e in node.events)


def test_join_rules(server, node, pg_url):
    user, other, admin = register(server), register(server), register(server, "admin", pg_url)
    tx = deposit(server, user)
    node.connect("u", ws_url(server.base), user.token)
    node.connect("a", ws_url(server.base), admin.token)
    node.connect("op", ws_url(server.base), OPERATOR_TOKEN)
    own = node.join("u", f"transaction:{user.id}")
    assert own["status"] == "ok" and own["response"] == {"last_transaction_id": tx["id"]}
    for topic in (f"transaction:{other.id}", f"notification:{other.id}", "admin:supervision"):
        refused = node.join("u", topic)
        assert (refused["status"], refused["response"]) == ("error", {"reason": "unauthorized"})
    unmatched = node.join("u", "nowhere:1")
    assert unmatched["response"] == {"reason": "unmatched topic"}
    assert node.join("u", f"notification:{user.id}")["status"] == "ok"
    assert node.join("a", f"transaction:{user.id}")["status"] == "ok"
    assert node.join("a", f"transaction:{other.id}")["response"] == {"last_transaction_id": 0}
    for _ in range(20):  # until both workers have started and sent their first snapshot
        joined = node.join("op", "admin:supervision")
        assert joined["status"] == "ok"
        pids = {worker["pid"] for worker in joined["response"]["workers"]}
        if len(pids) == 2:
            break
        node.drain(0.5)
    assert len(pids) == 2, joined["response"]  # every live worker's tree
    tree = joined["response"]["workers"][0]["tree"]
    assert [c["id"] for c in tree["children"]] == ["pubsub", "services", "endpoint"]
    # A user's JWT with the operator token as the join's `token` parameter may join too.
    assert node.join("u", "admin:supervision", params={"token": OPERATOR_TOKEN})["status"] == "ok"


def test_new_transaction_reaches_every_party_on_every_socket(server, node, pg_url):
    buyer, vendor, recipient = register(server), register(server), register(server)
    affiliate, admin = register(server, "affiliate"), register(server, "admin", pg_url)
    parties = (buyer, vendor, recipient, affiliate)
    # Three sockets per user: with two workers, sockets and requests land on both.
    for user in parties:
        for n in range(3):
            sid = f"{user.id}-{n}"
            node.connect(sid, ws_url(server.base), user.token)
            for topic in (f"transaction:{user.id}", f"notification:{user.id}"):
                assert node.join(sid, topic, events=TOPIC_EVENTS)["status"] == "ok"

    product = server.request(
        "POST",
        "/api/v1/products",
        {"product": {"name": "Book", "price": "30.00", "currency": "EUR", "commission_rate": "10"}},
        vendor.headers,
    ).body["data"]
    activated = server.request(
        "PATCH",
        f"/api/v1/products/{product['id']}",
        {"product": {"status": "active"}},
        admin.headers,
    )
    assert activated.status == 200, activated.body
    for n in range(3):
        node.wait_count(
            lambda e, n=n: (
                e["type"] == "message"
                and e["id"] == f"{vendor.id}-{n}"
                and e["event"] == "product_status_changed"
            ),
            1,
        )
    assert node.messages(
        f"{vendor.id}-0", f"notification:{vendor.id}", "product_status_changed"
    ) == [{"product_id": product["id"], "status": "active"}]

    dep = deposit(server, buyer, "100.00")
    transfer = post_tx(
        server, buyer, kind="transfer", amount="5.00", currency="EUR", recipient_id=recipient.id
    ).body["data"]
    withdrawal = post_tx(server, buyer, kind="withdrawal", amount="1.00", currency="EUR").body[
        "data"
    ]
    purchase = post_tx(
        server, buyer, kind="purchase", product_id=product["id"], affiliate_id=affiliate.id
    ).body["data"]
    expected = {
        buyer: [dep, transfer, withdrawal, purchase],
        recipient: [transfer],
        vendor: [purchase],
        affiliate: [purchase],
    }
    for user, txs in expected.items():
        for n in range(3):
            sid = f"{user.id}-{n}"
            node.wait_count(
                lambda e, sid=sid: (
                    e["type"] == "message" and e["id"] == sid and e["event"] == "new_transaction"
                ),
                len(txs),
            )
            got = node.messages(sid, f"transaction:{user.id}")
            assert got == [shown(server, tx["id"], user) for tx in txs]
    node.wait(
        lambda e: (
            e["type"] == "message"
            and e["id"] == f"{affiliate.id}-0"
            and e["event"] == "commission_earned"
        )
    )
    commission = node.messages(
        f"{affiliate.id}-0", f"notification:{affiliate.id}", "commission_earned"
    )
    as_affiliate = shown(server, purchase["id"], affiliate)  # its own balances only
    assert commission == [{"amount": "3.00", "currency": "EUR", "transaction": as_affiliate}]


def test_a_refused_request_publishes_nothing(server, node):
    user = register(server)
    node.connect("u", ws_url(server.base), user.token)
    assert node.join("u", f"transaction:{user.id}", events=["new_transaction"])["status"] == "ok"
    refused = post_tx(server, user, kind="withdrawal", amount="1.00", currency="EUR")
    assert refused.status == 422
    tx = deposit(server, user)
    node.wait(lambda e: e["type"] == "message" and e["id"] == "u")
    node.drain(1.0)
    assert [m["id"] for m in node.messages("u", f"transaction:{user.id}")] == [tx["id"]]


def test_join_after_replays_then_goes_live_and_refuses_too_far_behind(server, node):
    user = register(server)
    first = [deposit(server, user, "1.00") for _ in range(3)]
    node.connect("u", ws_url(server.base), user.token)
    joined = node.join(
        "u", f"transaction:{user.id}", params={"after": first[0]["id"]}, events=["new_transaction"]
    )
    assert joined["response"] == {"last_transaction_id": first[-1]["id"]}
    live = deposit(server, user, "2.00")
    node.wait_count(lambda e: e["type"] == "message" and e["id"] == "u", 3)
    assert [m["id"] for m in node.messages("u", f"transaction:{user.id}")] == [
        first[1]["id"],
        first[2]["id"],
        live["id"],
    ]
    bad = node.join("u", f"transaction:{user.id}", params={"after": "x"})
    assert bad["response"] == {"reason": "invalid after"}


def test_duplicate_join_replaces_the_channel_and_leave_closes_it(server, node):
    user = register(server)
    node.connect("u", ws_url(server.base), user.token)
    topic = f"transaction:{user.id}"
    assert node.join("u", topic)["status"] == "ok"
    mark = len(node.events)
    assert node.join("u", topic, events=["new_transaction"])["status"] == "ok"
    node.wait(lambda e: e["type"] == "channel_close" and e["id"] == "u", after=mark)
    tx = deposit(server, user)
    node.wait(lambda e: e["type"] == "message" and e["id"] == "u")
    assert [m["id"] for m in node.messages("u", topic)] == [tx["id"]]  # once, not twice
    node.send(op="leave", id="u", topic=topic)
    node.wait(lambda e: e["type"] == "left" and e["id"] == "u")
    deposit(server, user)
    node.drain(1.0)
    assert len(node.messages("u", topic)) == 1


def test_v1_serializer(server, node):
    user = register(server)
    node.connect("u", ws_url(server.base), user.token, vsn="1.0.0")
    assert node.join("u", f"transaction:{user.id}", events=["new_transaction"])["status"] == "ok"
    tx = deposit(server, user)
    node.wait(lambda e: e["type"] == "message" and e["id"] == "u")
    assert node.messages("u", f"transaction:{user.id}") == [shown(server, tx["id"], user)]


def test_a_silent_socket_is_closed_and_a_heartbeating_one_is_not(server, node):
    user = register(server)
    node.connect("silent", ws_url(server.base), user.token, heartbeat_ms=3_600_000)
    node.connect("alive", ws_url(server.base), user.token)
    node.wait(lambda e: e["type"] == "open" and e["id"] == "silent")
    node.wait(lambda e: e["type"] == "close" and e["id"] == "silent", timeout=IDLE_TIMEOUT + 10)
    assert not any(e["type"] == "close" and e["id"] == "alive" for e in node.events)


def test_longpoll(server, node):
    user = register(server)
    node.connect("lp", ws_url(server.base), user.token, transport="longpoll")
    topic = f"transaction:{user.id}"
    assert node.join("lp", topic, events=["new_transaction"])["status"] == "ok"
    txs = [deposit(server, user) for _ in range(3)]
    node.wait_count(lambda e: e["type"] == "message" and e["id"] == "lp", 3)
    assert node.messages("lp", topic) == [shown(server, tx["id"], user) for tx in txs]


def test_a_longpoll_session_answers_on_either_worker(server):
    """Each request on a new connection lands on either worker; the session lives on one,
    the others forward through PubSub. Ten heartbeats, then polls until all ten replies."""
    user = register(server)
    query = f"/socket/longpoll?token={user.token}&vsn=2.0.0"
    opened = server.request("GET", query + "&token=null")
    assert opened.body["status"] == 410
    sid = opened.body["token"]
    refs = [str(n) for n in range(10)]
    for ref in refs:
        frame = f'[null,"{ref}","phoenix","heartbeat",{{}}]'
        reply = _post_raw(server, f"{query}&token={sid}", frame)
        assert reply["status"] == 200, reply
    replies = []
    for _ in range(20):
        polled = server.request("GET", f"{query}&token={sid}").body
        assert polled["status"] in (200, 204), polled
        replies += [json.loads(m) for m in polled.get("messages", [])]
        if len(replies) >= len(refs):
            break
    assert sorted(r[1] for r in replies) == sorted(refs)
    assert all(r[3] == "phx_reply" and r[4]["status"] == "ok" for r in replies)
    forged = server.request("GET", f"{query}&token=lp.no-such-session").body
    assert forged == {"status": 410}


def connections(server) -> tuple[float, float]:
    """(`bitnexus_sockets`, `bitnexus_channels`) from /metrics."""
    with urllib.request.urlopen(server.base + "/metrics", timeout=15) as response:
        text = response.read().decode()
    found = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return found["bitnexus_sockets"], found["bitnexus_channels"]


def wait_for_connections(server, expected: tuple[float, float]) -> None:
    # The tree is sampled into the gauges every second and on each scrape of one worker:
    # poll until the other worker's sample shows it too.
    deadline = time.monotonic() + 15
    while (seen := connections(server)) != expected:
        assert time.monotonic() < deadline, seen


def test_metrics_count_sockets_and_channels(pg_url, tmp_path, node):
    server = start(pg_url, tmp_path, server_env(), workers=2)  # alone: no other sockets
    try:
        assert connections(server) == (0, 0)
        user = register(server)
        topic = f"transaction:{user.id}"
        for socket_id in ("a", "b"):
            node.connect(socket_id, ws_url(server.base), user.token)
            assert node.join(socket_id, topic)["status"] == "ok"
        node.connect("c", ws_url(server.base), user.token, transport="longpoll")
        node.wait(lambda e: e["type"] == "open" and e["id"] == "c")
        wait_for_connections(server, (3, 2))
        node.send(op="disconnect", id="a")
        node.wait(lambda e: e["type"] == "disconnected" and e["id"] == "a")
        wait_for_connections(server, (2, 1))  # its channel went with it
    finally:
        server.stop()


def _post_raw(server, path, body):
    request = urllib.request.Request(server.base + path, data=body.encode(), method="POST")
    request.add_header("content-type", "application/x-ndjson")
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())
