"""PubSub in the application's tree, on SQLite (in-process) and PostgreSQL (LISTEN/NOTIFY):
what the ledger announces, when, and what a listener that lost its connection does."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import queue
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from actors import accounts, ledger, products, pubsub, transactions
from actors.errors import Unavailable, ValidationFailed
from bitnexus.ledger import degraded
from supervisors import ChildSpec, Worker, call, cast, crash, start_child, whereis
from web import policy, render
from web.auth import Caller
from web.realtime import announce, hub
from web.realtime.channels import Join, Joined, NotificationChannel, TransactionChannel
from web.realtime.serializer import Frame
from web.realtime.socket import CHANNELS

WAIT = 10.0
HERE = Path(__file__).resolve().parent


def new_user(n: int) -> int:
    attrs = {"email": f"pubsub{n}@example.com", "name": "P", "password": "pubsub-password-1"}
    return accounts.create_user(attrs).id


def delivered(inbox: pubsub.Mailbox, timeout: float = WAIT) -> object | None:
    """The next message but a CatchUp (a listener's first connection sends one)."""
    while isinstance(got := inbox.get(timeout), pubsub.CatchUp):
        pass
    return got


def subscribed(topic: str) -> pubsub.Mailbox:
    """A mailbox subscribed to ``topic`` once this process's listener (if any) listens:
    a notification sent before it does is lost to it (a gap, as when it reconnects)."""
    mailbox, probe = pubsub.Mailbox(), pubsub.Mailbox()
    pubsub.subscribe(topic, mailbox)
    pubsub.subscribe("t:listening", probe)
    for _ in range(int(WAIT / 0.1)):  # a probe sent before the listener listened is lost
        pubsub.broadcast("t:listening", "listening", {})
        if isinstance(probe.get(0.1), pubsub.Delivered):
            break
    else:
        raise AssertionError("the listener never listened")
    pubsub.unsubscribe("t:listening", probe)
    return mailbox


def test_new_transaction_after_commit_exactly_as_shown_and_nothing_for_refused(services):
    user = new_user(1)
    inbox = subscribed(f"transaction:{user}")
    with pytest.raises(ValidationFailed):  # insufficient funds
        transactions.create_transaction(
            user, {"kind": "withdrawal", "amount": "1.00", "currency": "EUR"}
        )
    tx = transactions.create_transaction(
        user, {"kind": "deposit", "amount": "2.00", "currency": "EUR"}
    )
    got = delivered(inbox)
    assert isinstance(got, pubsub.Delivered) and got.event == "new_transaction"
    as_user_sees_it = policy.as_seen_by_user(user, transactions.get_transaction(tx.id))
    assert got.payload == render.transaction(as_user_sees_it)  # as GET shows it to them
    assert delivered(inbox, 0.5) is None  # the refused withdrawal published nothing


def test_broadcast_reaches_subscribers_of_the_topic_only(services):
    mine, other = subscribed("t:1"), subscribed("t:2")
    pubsub.broadcast("t:1", "hello", {"n": 1})
    got = delivered(mine)
    assert (got.topic, got.event, got.payload) == ("t:1", "hello", {"n": 1})
    assert delivered(other, 0.3) is None


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_payload_too_large_for_notify_goes_by_reference(services, engine):
    inbox = subscribed("big")
    payload = {"blob": "x" * (pubsub.NOTIFY_LIMIT * 3)}
    pubsub.broadcast("big", "large", payload)
    assert delivered(inbox).payload == payload
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pubsub_payloads")).scalar_one() == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_listener_that_loses_its_connection_reconnects_and_subscribers_catch_up(
    services, terminate_backends
):
    inbox = subscribed("t:gap")
    pubsub.broadcast("t:gap", "listening", {})  # through the listener: it is connected
    while not isinstance(got := inbox.get(WAIT), pubsub.Delivered):
        assert isinstance(got, pubsub.CatchUp)  # from its first connection
    assert terminate_backends() >= 1  # the listener's connection among them
    assert isinstance(inbox.get(WAIT), pubsub.CatchUp)  # after it reconnected
    pubsub.broadcast("t:gap", "after", {})
    got = inbox.get(WAIT)
    assert isinstance(got, pubsub.Delivered) and got.event == "after"


def test_subscriptions_survive_a_crash_of_pubsub(services):
    inbox = subscribed("t:kept")
    seen = services.log.last_seq
    crash(whereis(pubsub.NAME), "crashed by a test")
    services.log.wait_for(lambda e: e.kind == "child_restarted", after=seen, timeout=WAIT)
    pubsub.broadcast("t:kept", "still", {})
    got = delivered(inbox)
    assert isinstance(got, pubsub.Delivered) and got.event == "still"


def deposit(user: int, amount: str = "1.00", **extra: str):
    attrs = {"kind": "deposit", "amount": amount, "currency": "EUR", **extra}
    return transactions.create_transaction(user, attrs)


def transfer(sender: int, recipient: int, amount: str = "0.01"):
    attrs = {"kind": "transfer", "amount": amount, "currency": "EUR", "recipient_id": recipient}
    return transactions.create_transaction(sender, attrs)


@pytest.fixture
def notices(engine):
    """An outside connection LISTENing on the pubsub channel: a call returns the next
    notification's payload as it was sent, but the broadcasts' messages (`subscribed`'s)."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {pubsub.CHANNEL}")

        def following() -> str:
            for note in conn.notifies(timeout=WAIT):
                if not note.payload.startswith("["):
                    return note.payload
            raise AssertionError("no notification")

        yield following


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_block_is_notified_by_its_index_and_parties_only(services, notices):
    user = new_user(1)
    inbox = subscribed(f"transaction:{user}")
    tx = deposit(user)
    assert notices() == f"block:{tx.block_index}:{user}"  # not what the block holds
    got = delivered(inbox)  # each process reads the block and renders it
    assert got.payload == render.transaction(policy.as_seen_by_user(user, tx))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_rolled_back_block_announces_nothing(services, engine, notices):
    user = new_user(1)
    inbox = subscribed(f"transaction:{user}")
    degraded.mark(engine, "marked by a test")  # a trigger refuses the block's INSERT
    with pytest.raises(Unavailable):  # its NOTIFY went out before the INSERT: rolled back
        deposit(user, idempotency_key="refused")
    assert degraded.clear(engine).valid
    tx = deposit(user)
    assert notices() == f"block:{tx.block_index}:{user}"  # the first is the commit's
    got = delivered(inbox)
    assert got.payload["id"] == tx.id


class _Process:
    """A second OS process with its own tree on the database (tests/ledger_process.py):
    ``send`` it a transaction request; ``lines`` is what it prints, as it prints it."""

    def __init__(self, database_url: str, topics: tuple[str, ...], err: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "ledger_process.py"), *topics],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err.open("w"),
            env=os.environ | {"BITNEXUS_DATABASE_URL": database_url},
            cwd=HERE,
            text=True,
        )
        self.lines: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.lines.get(timeout=60) == "ready", err.read_text()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, request: dict) -> None:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0


@pytest.fixture
def other_process(config, engine, tmp_path):
    """``start(*topics)``: a `_Process` subscribed to ``topics``, stopped at the end."""
    started: list[_Process] = []

    def start(*topics: str) -> _Process:
        started.append(_Process(config.database_url, topics, tmp_path / "other.err"))
        return started[-1]

    yield start
    for process in started:
        process.stop()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_processes_each_deliver_every_block_in_commit_order(services, other_process):
    alice, bob = new_user(1), new_user(2)
    topics = (f"transaction:{alice}", f"transaction:{bob}")
    here = subscribed(topics[0])
    pubsub.subscribe(topics[1], here)
    funded = {deposit(alice, "10.00").id, deposit(bob, "10.00").id}
    assert {delivered(here).payload["id"] for _ in funded} == funded  # before what follows
    there = other_process(*topics)
    count = 12
    for _ in range(count):  # bob -> alice, one at a time, through the other process's ledger
        there.send(
            {
                "user_id": bob,
                "attrs": {
                    "kind": "transfer",
                    "amount": "0.01",
                    "currency": "EUR",
                    "recipient_id": alice,
                },
            }
        )
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # alice -> bob, blocks of several
        ids = {tx.id for tx in pool.map(lambda _: transfer(alice, bob), range(count))}

    heard_there: dict[str, list] = {t: [] for t in topics}
    while len(ids) < 2 * count or any(len(m) < 2 * count for m in heard_there.values()):
        line = there.lines.get(timeout=WAIT)
        if "id" in line:
            ids.add(line["id"])
        elif "delivered" in line:
            topic, event, payload = line["delivered"]
            assert event == "new_transaction"
            heard_there[topic].append(payload)
    heard_here: dict[str, list] = {t: [] for t in topics}
    while any(len(m) < 2 * count for m in heard_here.values()):
        got = delivered(here)
        assert isinstance(got, pubsub.Delivered), got
        heard_here[got.topic].append(got.payload)
    for topic in topics:  # every transaction once, in id (commit) order, the same everywhere
        assert [p["id"] for p in heard_here[topic]] == sorted(ids)
        assert heard_there[topic] == heard_here[topic]


class _Frames:
    """A channel's transport that keeps the frames sent to it (V2 arrays)."""

    control_topic = None

    def __init__(self) -> None:
        self.sent: queue.SimpleQueue = queue.SimpleQueue()

    def send(self, text: str) -> None:
        self.sent.put(json.loads(text))

    def close(self, code: int = 1000) -> None:
        pass

    def control(self, event: str, payload: object) -> None:
        pass

    def next(self, event: str) -> list:
        while (frame := self.sent.get(timeout=WAIT))[3] != event:
            pass
        return frame


class _Socket(Worker):
    """A channel's socket: it has only to be alive."""

    def handle(self, message: object) -> object:
        return None


@contextmanager
def joined_channel(kind: type, topic: str, user: int, payload: dict):
    """A channel of ``kind`` on ``topic``, joined as ``user``: its frames."""
    frames, socket = _Frames(), _Socket.start()
    loop = call(hub.NAME, hub.GetHub()).loop
    joined = Joined(socket, frames, "2.0.0", Caller(user, "user"), None, WAIT, loop)
    spec = ChildSpec(id="test-channel", start=kind, args=(topic, "1", joined), restart="temporary")
    channel = start_child(CHANNELS, spec)
    try:
        cast(channel, Join(Frame("1", "1", topic, "phx_join", payload)))
        assert frames.next("phx_reply")[4]["status"] == "ok"
        yield frames
    finally:
        socket.stop()


def unreadable_once(monkeypatch) -> None:
    """The next block's read fails: its announcement is a gap."""
    read = ledger.block_transactions

    def unreadable(index: int, **kwargs):
        monkeypatch.setattr(ledger, "block_transactions", read)
        raise Unavailable("the block's read failed (a test)")

    monkeypatch.setattr(ledger, "block_transactions", unreadable)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_block_that_cannot_be_read_is_a_gap_and_the_channel_catches_up(services, monkeypatch):
    user = new_user(1)
    first = deposit(user)
    with joined_channel(TransactionChannel, f"transaction:{user}", user, {"after": first.id}) as (
        frames
    ):
        unreadable_once(monkeypatch)
        missed = deposit(user)
        assert frames.next("new_transaction")[4]["id"] == missed.id  # by the catch-up
        live = deposit(user)
        assert frames.next("new_transaction")[4]["id"] == live.id  # the next block, live
        assert frames.sent.empty()  # no duplicate


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_commission_missed_in_a_gap_is_caught_up(services, monkeypatch):
    buyer, vendor = new_user(1), new_user(2)
    affiliate = accounts.create_user(
        {"email": "aff@example.com", "name": "A", "password": "p" * 12, "role": "affiliate"}
    ).id
    attrs = {"name": "Lamp", "price": "10.00", "status": "active", "commission_rate": "10"}
    lamp = products.create_product(attrs, vendor)
    deposit(buyer, "100.00")

    def buy():
        attrs = {"kind": "purchase", "product_id": lamp.id, "affiliate_id": affiliate}
        return transactions.create_transaction(buyer, attrs)

    buy()  # before the join: not pushed
    with joined_channel(NotificationChannel, f"notification:{affiliate}", affiliate, {}) as (
        frames
    ):
        unreadable_once(monkeypatch)
        missed = buy()
        caught_up = frames.next("commission_earned")[4]
        assert (caught_up["amount"], caught_up["transaction"]["id"]) == ("1.00", missed.id)
        live = buy()
        assert frames.next("commission_earned")[4]["transaction"]["id"] == live.id
        assert frames.sent.empty()  # no duplicate


def test_messages_are_rendered_after_the_commit_off_the_writer_for_subscribers_only(
    services, monkeypatch
):
    alice, bob = new_user(1), new_user(2)
    inbox = subscribed(f"transaction:{alice}")  # bob has no subscriber in this process
    funded = deposit(alice, "5.00")
    assert delivered(inbox).payload["id"] == funded.id
    rendered, render_transaction = [], render.transaction

    def recorded(tx):
        rendered.append((tx.id, threading.current_thread().name))
        return render_transaction(tx)

    monkeypatch.setattr(announce.render, "transaction", recorded)
    tx = transfer(alice, bob)
    got = delivered(inbox)
    assert got.payload == render_transaction(policy.as_seen_by_user(alice, tx))
    assert len(rendered) == 1  # for alice's topic only
    assert rendered[0][0] == tx.id
    assert not rendered[0][1].startswith("ledger")  # neither the writer nor its committer


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_block_is_read_only_where_one_of_its_parties_is_subscribed(services, monkeypatch):
    alice, bob, carol = new_user(1), new_user(2), new_user(3)
    funded = deposit(alice, "5.00")
    subscribed(f"transaction:{carol}")  # subscribed here, but no party to what follows
    reads, read = [], ledger.block_transactions

    def counted(index: int, **kwargs):
        reads.append(index)
        return read(index, **kwargs)

    monkeypatch.setattr(ledger, "block_transactions", counted)
    unread = transfer(alice, bob)  # neither alice nor bob is subscribed here
    subscribed("t:after-unread")  # the listener has passed the block on by now …
    call(announce.NAME, announce.Posted(()))  # … and `announcements` has handled it
    inbox = subscribed(f"transaction:{bob}")
    seen = transfer(alice, bob)
    assert delivered(inbox).payload["id"] == seen.id
    assert reads == [seen.block_index]
    assert unread.block_index < seen.block_index and funded.block_index < unread.block_index


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_block_whose_parties_do_not_fit_a_notify_is_named_alone(services, engine):
    announcer, tx = announce.LedgerAnnouncer(engine), deposit(new_user(1))
    crowd = [dataclasses.replace(tx.postings[0], user_id=10**9 + n) for n in range(800)]
    crowded = dataclasses.replace(tx, postings=tuple(crowd))
    assert announcer.notice(7, [tx]).payload == f"block:7:{tx.user_id}"
    assert announcer.notice(7, [crowded]).payload == "block:7"  # any process may want it
