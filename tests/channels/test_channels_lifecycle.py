"""Channels across restarts and failures, and many sockets at once: each test runs its own
server (gunicorn, 2 workers, PostgreSQL)."""

from __future__ import annotations

import concurrent.futures
import itertools
import sys
import time
from pathlib import Path

import devdb
import pytest
from channels_support import OPERATOR_TOKEN, register, server_env, ws_url
from live_server import free_port, start

sys.path.insert(0, str(Path(__file__).parent.parent / "drills"))
import drill_pg

OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}"}


def deposit(server, user, amount="1.00"):
    reply = server.request(
        "POST",
        "/api/v1/transactions",
        {"transaction": {"kind": "deposit", "amount": amount, "currency": "EUR"}},
        user.headers,
    )
    assert reply.status == 201, reply.body
    return reply.body["data"]["id"]


@pytest.fixture
def servers(pg_url, tmp_path):
    """Start servers on the shared database; all stopped at the end."""
    started = []
    counter = itertools.count()

    def make(port=None, workers=2, **env):
        directory = _dir(tmp_path, next(counter))
        live = start(pg_url, directory, server_env(**env), workers=workers, port=port)
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()
    for live in started:
        log = live.stderr()  # the only tracebacks: crashes a test asked for
        assert log.count("Traceback") == log.count("CrashRequested: crash requested"), log[-4000:]


def _dir(tmp_path, n):
    path = tmp_path / f"server-{n}"
    path.mkdir()
    return path


def test_a_join_the_runtime_cannot_start_is_refused_and_the_socket_carries_on(servers, node):
    live = servers(workers=1)  # one worker: the operator's requests reach the socket's tree
    user = register(live)
    node.connect("u", ws_url(live.base), user.token)
    channels = "/admin/supervision/root/endpoint/channels"
    assert live.request("POST", f"{channels}/terminate", headers=OPERATOR).status == 200
    mark = len(node.events)
    refused = node.join("u", f"transaction:{user.id}", events=["new_transaction"])
    assert refused["status"] == "error" and refused["response"] == {"reason": "unavailable"}
    # Back: the client's own rejoin after its back-off succeeds on the same socket.
    assert live.request("POST", f"{channels}/restart", headers=OPERATOR).status == 200
    node.wait(lambda e: e["type"] == "join" and e["status"] == "ok", after=mark)
    assert not [e for e in node.events[mark:] if e["type"] in ("close", "error")]
    deposit(live, user)
    assert node.wait(lambda e: e["type"] == "message", after=mark)["event"] == "new_transaction"


def test_resume_with_after_across_a_server_restart(servers, node):
    port = free_port()
    first = servers(port=port)
    other_host = servers()  # a second server on the same database: another host
    user = register(first)
    topic = f"transaction:{user.id}"
    node.connect("u", ws_url(first.base), user.token)
    assert node.join("u", topic, events=["new_transaction"], resume=True)["status"] == "ok"
    ids = [deposit(first, user)]
    node.wait(lambda e: e["type"] == "message")

    assert first.stop() == 0  # graceful: the socket is closed, the client retries
    node.wait(lambda e: e["type"] == "close" and e["id"] == "u")
    ids += [deposit(other_host, user), deposit(other_host, user)]  # while it is away
    mark = len(node.events)
    restarted = servers(port=port)
    node.wait(lambda e: e["type"] == "join" and e["status"] == "ok", after=mark)
    ids.append(deposit(restarted, user))
    node.wait_count(lambda e: e["type"] == "message", 4)
    node.drain(1.0)
    assert [m["id"] for m in node.messages("u", topic)] == ids  # no gap, no duplicate


def test_a_crashed_channel_reports_phx_error_and_the_client_rejoins(servers, node):
    live = servers()
    user = register(live)
    topic = f"transaction:{user.id}"
    node.connect("u", ws_url(live.base), user.token)
    assert node.join("u", topic, events=["new_transaction"], resume=True)["status"] == "ok"
    node.connect("other", ws_url(live.base), user.token)
    assert node.join("other", f"notification:{user.id}")["status"] == "ok"
    mark = len(node.events)

    path = _crash_channel(live, f"-{topic}")
    assert path.startswith("root/endpoint/channels/channel-")
    node.wait(lambda e: e["type"] == "channel_error" and e["topic"] == topic, after=mark)
    node.wait(
        lambda e: e["type"] == "join" and e["topic"] == topic and e["status"] == "ok", after=mark
    )
    tx = deposit(live, user)
    node.wait(lambda e: e["type"] == "message" and e["topic"] == topic)
    assert [m["id"] for m in node.messages("u", topic)] == [tx]
    # The socket and its other channels carried on.
    assert not any(e["type"] == "close" for e in node.events[mark:])
    assert not any(e["type"] == "channel_error" and e["id"] == "other" for e in node.events)


def _crash_channel(live, suffix):
    """Crash the channel whose id ends with ``suffix`` through /admin (on whichever worker
    holds it: each request lands on either worker)."""
    for _ in range(60):
        tree = live.request("GET", "/admin/supervision", headers=OPERATOR).body["data"]
        channels = _node(tree, "root/endpoint/channels")
        found = [c["path"] for c in channels["children"] if c["id"].endswith(suffix)]
        if found:
            for _ in range(20):
                reply = live.request(
                    "POST", f"/admin/supervision/{found[0]}/crash", headers=OPERATOR
                )
                if reply.status == 202:
                    return found[0]
    raise AssertionError("the channel was not found on either worker")


def _node(tree, path):
    if tree["path"] == path:
        return tree
    for child in tree.get("children", ()):
        if path.startswith(child["path"]):
            return _node(child, path)
    raise AssertionError(path)


def test_500_sockets_each_get_their_own_events_only(servers, node):
    live = servers(BITNEXUS_SOCKET_IDLE_TIMEOUT="60")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        users = list(pool.map(lambda _: register(live), range(500)))
    for user in users:
        node.connect(str(user.id), ws_url(live.base), user.token, heartbeat_ms=30_000)
        node.send(
            op="join", id=str(user.id), topic=f"transaction:{user.id}", events=["new_transaction"]
        )
    node.wait_count(lambda e: e["type"] == "join" and e["status"] == "ok", 500)
    counts = _socket_counts(live)
    assert sum(counts.values()) == 500 and len(counts) == 2, counts  # both workers hold some
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        sent = dict(
            zip([u.id for u in users], pool.map(lambda u: deposit(live, u), users), strict=True)
        )
    node.wait_count(lambda e: e["type"] == "message", 500)
    node.drain(1.0)
    for user in users:
        assert [m["id"] for m in node.messages(str(user.id), f"transaction:{user.id}")] == [
            sent[user.id]
        ]
    assert len([e for e in node.events if e["type"] == "message"]) == 500


def _socket_counts(live):
    """Sockets per worker pid, from /admin/supervision on each (requests land randomly)."""
    counts = {}
    for _ in range(40):
        tree = live.request("GET", "/admin/supervision", headers=OPERATOR).body["data"]
        counts[tree["pid"]] = len(_node(tree, "root/endpoint/sockets")["children"])
        if len(counts) == 2:
            break
    return counts


def test_channels_catch_up_when_the_listeners_lose_their_connections(servers, node, pg_url):
    live = servers()
    user = register(live)
    topic = f"transaction:{user.id}"
    node.connect("u", ws_url(live.base), user.token)
    assert node.join("u", topic, events=["new_transaction"])["status"] == "ok"
    ids = [deposit(live, user)]
    node.wait(lambda e: e["type"] == "message")
    with devdb.admin_connection() as conn:  # every backend of the database: listeners too
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (pg_url.rsplit("/", 1)[1],),
        )
    # Committed while the listeners reconnect: delivered by the catch-up from the ledger
    # (or by a listener already back); either way once, in order. A request whose pooled
    # connection was killed answers 503 and is retried with its idempotency key.
    ids += [
        _deposit_once_back(live, user, "catch-up-1"),
        _deposit_once_back(live, user, "catch-up-2"),
    ]
    node.wait_count(lambda e: e["type"] == "message", 3)
    node.drain(2.0)
    assert [m["id"] for m in node.messages("u", topic)] == ids


@pytest.mark.stops_postgres
@pytest.mark.timeout(900)  # the outage lock may be held by a drill or a bench for minutes
def test_resume_with_after_across_a_postgresql_restart(servers, node):
    """Stops the shared PostgreSQL: only inside the drills' outage lock."""
    live = servers()
    user = register(live)
    topic = f"transaction:{user.id}"
    node.connect("u", ws_url(live.base), user.token)
    assert node.join("u", topic, events=["new_transaction"], resume=True)["status"] == "ok"
    ids = [deposit(live, user)]
    node.wait(lambda e: e["type"] == "message")
    with devdb.outage_lock(600) as held:
        assert held, "the outage lock stayed busy for 10 minutes"
        with drill_pg.stopped():
            _await_status(live, "/ready", 503)  # the listeners noticed: degraded
    ids.append(_deposit_once_back(live, user, "after-restart"))
    node.wait_count(lambda e: e["type"] == "message", 2)
    node.drain(2.0)
    assert [m["id"] for m in node.messages("u", topic)] == ids


def _await_status(live, path, status):
    for _ in range(100):
        if live.request("GET", path).status == status:
            return
        time.sleep(0.1)  # an external process changing state: polling
    raise AssertionError(f"{path} never answered {status}")


def _deposit_once_back(live, user, key):
    """A deposit as soon as the server answers again (503 until its pool reconnects)."""
    for _ in range(100):
        reply = live.request(
            "POST",
            "/api/v1/transactions",
            {"transaction": {"kind": "deposit", "amount": "1.00", "currency": "EUR"}},
            {**user.headers, "idempotency-key": key},
        )
        if reply.status == 201:
            return reply.body["data"]["id"]
        assert reply.status == 503, reply.body
        time.sleep(0.2)  # an external server coming back: polling
    raise AssertionError("no deposit within 20 s of PostgreSQL's return")
