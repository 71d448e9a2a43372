"""PubSub in the application's tree, on SQLite (in-process) and PostgreSQL (LISTEN/NOTIFY):
what the ledger announces, when, and what a listener that lost its connection does."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from actors import accounts, pubsub, transactions
from actors.errors import ValidationFailed
from supervisors import crash, whereis
from web import policy, render

WAIT = 10.0


def new_user(n: int) -> int:
    attrs = {"email": f"pubsub{n}@example.com", "name": "P", "password": "pubsub-password-1"}
    return accounts.create_user(attrs).id


def delivered(inbox: pubsub.Mailbox, timeout: float = WAIT) -> object | None:
    """The next message but a CatchUp (a listener's first connection sends one)."""
    while isinstance(got := inbox.get(timeout), pubsub.CatchUp):
        pass
    return got


def subscribed(topic: str) -> pubsub.Mailbox:
    mailbox = pubsub.Mailbox()
    pubsub.subscribe(topic, mailbox)
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
