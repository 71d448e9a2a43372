"""PubSub (registered name `pubsub`): topics, their local subscribers, and the way across
processes, as Phoenix.PubSub is in a Phoenix application's tree.

A message is one event with its payload for one or more topics. Within a process the
`pubsub` actor hands it to every subscriber of each topic (a `Delivered` message). Across
gunicorn workers and hosts it travels through PostgreSQL's LISTEN/NOTIFY: every process's
`Listener` receives every NOTIFY (its own included) and passes it to its `pubsub`, so all
deliveries take the one path. A payload too large for NOTIFY goes by reference: a row of
`pubsub_payloads` the listener reads. On SQLite (one process) delivery is in-process only.

A NOTIFY sent inside a database transaction is delivered only if, and after, it commits,
and notifications reach listeners in commit order. The ledger names each block that way
(`<kind>:<text>`, a few bytes); a listener hands such a notice to the handler the tree
registered for its kind, which renders the messages (web/realtime/announce.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from pykka import ActorDeadError
from sqlalchemy.engine import Connection, Engine

from actors.service import database_outage_as_unavailable
from bitnexus.database.schema import pubsub_payloads
from supervisors import NoProcess, Worker, call, cast, registry

logger = logging.getLogger("bitnexus.pubsub")

NAME = "pubsub"
CHANNEL = "bitnexus_pubsub"
NOTIFY_LIMIT = 7900  # bytes; PostgreSQL refuses a NOTIFY payload of 8000 bytes or more
BY_REFERENCE = "ref:"
PAYLOAD_TTL = 300.0  # seconds a payload row is kept for listeners that lag
LISTEN_POLL = 0.5  # seconds a listener waits for notifications before checking its inbox
RECONNECT_SECONDS = 1.0


@dataclass(frozen=True)
class Message:
    """``event`` with ``payload`` for each of ``topics``."""

    topics: tuple[str, ...]
    event: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Delivered:
    """What a subscriber receives."""

    topic: str
    event: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class CatchUp:
    """Sent to every subscriber when notifications may have been missed (listener gap)."""


Subscriber = Any  # an ActorRef, or anything else with `tell` (a `Mailbox`)


@dataclass(frozen=True)
class Subscribe:
    topic: str
    ref: Subscriber


@dataclass(frozen=True)
class Unsubscribe:
    topic: str
    ref: Subscriber


@dataclass(frozen=True)
class Publish:
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Deliver:
    """From this process's listener or announcer (or, on SQLite, a publisher): hand out
    locally."""

    messages: tuple[Message, ...]


@dataclass(frozen=True)
class _Gap:
    """Notifications were lost (the listener reconnected, a block could not be read)."""


class PubSub(Worker):
    """Local subscriptions and fan-out; on PostgreSQL, publishing through NOTIFY."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self.delivered = 0

    def init(self) -> None:
        # The subscriptions outlive a crash, as an ETS table passes to its heir: the
        # subscribers (channels) run on and would otherwise never hear again.
        self._subscribers = _inherited.setdefault(NAME, defaultdict(set))

    def terminate(self) -> None:
        if self._link is not None and self._link.stopping:  # an orderly stop: nobody heirs
            _inherited.pop(NAME, None)

    def handle(self, message: object) -> object:
        match message:
            case Subscribe(topic=topic, ref=ref):
                self._subscribers[topic].add(ref)
                return None
            case Unsubscribe(topic=topic, ref=ref):
                refs = self._subscribers.get(topic)
                if refs is not None:
                    refs.discard(ref)
                    if not refs:
                        del self._subscribers[topic]
                return None
            case Publish(messages=messages):
                if not is_distributed(self._engine):
                    self._deliver(messages)
                    return None
                # During an outage the message is lost (an Unavailable reply nobody reads);
                # the listeners' reconnection makes channels catch up from the ledger.
                with database_outage_as_unavailable(), self._engine.begin() as conn:
                    notify(conn, messages)
                return None
            case Deliver(messages=messages):
                self._deliver(messages)
                return None
            case _Gap():
                for ref in {r for refs in self._subscribers.values() for r in refs}:
                    _tell_subscriber(ref, CatchUp())
                return None
        return super().handle(message)

    def _deliver(self, messages: Iterable[Message]) -> None:
        for message in messages:
            for topic in message.topics:
                for ref in tuple(self._subscribers.get(topic, ())):
                    _tell_subscriber(ref, Delivered(topic, message.event, message.payload))
                    self.delivered += 1


def _tell_subscriber(ref: Subscriber, message: object) -> None:
    with contextlib.suppress(ActorDeadError):  # it unsubscribes as it stops
        ref.tell(message)


_inherited: dict[str, dict[str, set[Subscriber]]] = {}  # written by the pubsub actor only


class Mailbox:
    """A subscriber that is not an actor: a thread waits on it (`get`)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()

    def tell(self, message: object) -> None:
        self._queue.put(message)

    def get(self, timeout: float) -> object | None:
        try:
            return self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None


def is_distributed(engine: Engine) -> bool:
    """Whether messages cross processes (PostgreSQL) or stay in this one (SQLite)."""
    return engine.dialect.name == "postgresql"


def broadcast(topic: str, event: str, payload: Mapping[str, Any]) -> None:
    """Publish ``event`` to every subscriber of ``topic`` in every process; never blocks.

    Without a `pubsub` in this process's tree (nothing can be subscribed) it does nothing.
    """
    publish([Message((topic,), event, payload)])


def publish(messages: Sequence[Message]) -> None:
    if messages:
        _tell(Publish(tuple(messages)))


def deliver_here(messages: Sequence[Message]) -> None:
    """Hand ``messages`` to this process's subscribers only (SQLite, after a commit)."""
    if messages:
        _tell(Deliver(tuple(messages)))


def report_gap() -> None:
    """Messages may have been lost: every subscriber is told to catch up (`CatchUp`)."""
    _tell(_Gap())


def has_subscribers(topic: str) -> bool:
    """Whether ``topic`` has a subscriber in this process now. A subscriber that comes
    later reads what it needs (a join reads the ledger after it subscribed)."""
    return topic in _inherited.get(NAME, {})  # the actor's own table; a read is atomic


def subscribe(topic: str, ref: Subscriber, timeout: float = 5.0) -> None:
    """Subscribe ``ref`` before returning, so nothing published afterwards is missed."""
    call(NAME, Subscribe(topic, ref), timeout)


def unsubscribe(topic: str, ref: Subscriber) -> None:
    _tell(Unsubscribe(topic, ref))


def _tell(message: object) -> None:
    """Cast to `pubsub` when this process's tree has one (a tree stopping may not)."""
    with contextlib.suppress(NoProcess):
        if registry.is_declared(NAME):
            cast(NAME, message)


def notify(conn: Connection, messages: Sequence[Message]) -> None:
    """NOTIFY ``messages`` in ``conn``'s transaction: delivered everywhere if it commits."""
    if not messages:
        return
    body = encode(messages)
    if len(body.encode()) > NOTIFY_LIMIT:
        row = conn.execute(
            sa.insert(pubsub_payloads).values(body=body).returning(pubsub_payloads.c.id)
        ).scalar_one()
        body = f"{BY_REFERENCE}{row}"
    conn.execute(sa.select(sa.func.pg_notify(CHANNEL, body)))


def encode(messages: Iterable[Message]) -> str:
    return json.dumps(
        [[list(m.topics), m.event, m.payload] for m in messages], separators=(",", ":")
    )


def decode(body: str) -> tuple[Message, ...]:
    return tuple(
        Message(tuple(topics), event, payload) for topics, event, payload in json.loads(body)
    )


@dataclass(frozen=True)
class _Listen:
    """The listener's own loop: wait a moment for notifications, then go round again."""


Handler = Callable[[str], None]  # takes a notice's text; must not block


class Listener(Worker):
    """LISTENs on its own connection and passes every notification to `pubsub`, but a
    notice `<kind>:<text>` of a kind in ``handlers``, whose handler gets the text.

    A lost connection is not a crash: the listener shows itself degraded, reconnects every
    second, and once back tells `pubsub` that notifications may have been missed, so
    channels catch up from the ledger.
    """

    def __init__(self, engine: Engine, handlers: Mapping[str, Handler] | None = None) -> None:
        super().__init__()
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._engine = engine
        self._handlers = dict(handlers or {})
        self._conn: psycopg.Connection | None = None
        self._swept = 0.0

    def init(self) -> None:
        self._timer: threading.Timer | None = None
        cast(self.actor_ref, _Listen())

    def terminate(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._conn is not None:
            self._conn.close()

    def handle(self, message: object) -> object:
        if not isinstance(message, _Listen):
            return super().handle(message)
        try:
            self._listen()
        except psycopg.OperationalError as exc:
            self._disconnected(exc)
            return None
        cast(self.actor_ref, _Listen())
        return None

    def _listen(self) -> None:
        if self._conn is None:
            self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {CHANNEL}")
            self.degraded = None
            cast(NAME, _Gap())  # whatever was sent while no connection listened is lost
        notes = list(self._conn.notifies(timeout=LISTEN_POLL, stop_after=1))
        # What else has already arrived, in the same hand-out. Not a short timeout: psycopg
        # spins through it (timeout=0.001 costs ~1 ms of CPU per call, 0 about 20 µs).
        notes += self._conn.notifies(timeout=0)
        messages = [m for note in notes for m in self._read(note.payload)]
        if messages:
            cast(NAME, Deliver(tuple(messages)))
        self._sweep()

    def _read(self, body: str) -> tuple[Message, ...]:
        kind, _, text = body.partition(":")
        if kind in self._handlers:
            self._handlers[kind](text)
            return ()
        if body.startswith(BY_REFERENCE):
            row = self._conn.execute(
                "SELECT body FROM pubsub_payloads WHERE id = %s", (int(body[len(BY_REFERENCE) :]),)
            ).fetchone()
            if row is None:  # swept before this listener came to it: a gap
                cast(NAME, _Gap())
                return ()
            body = row[0]
        return decode(body)

    def _sweep(self) -> None:
        now = time.monotonic()
        if now - self._swept >= PAYLOAD_TTL / 10:
            self._swept = now
            self._conn.execute(
                "DELETE FROM pubsub_payloads WHERE inserted_at < now() - make_interval(secs => %s)",
                (PAYLOAD_TTL,),
            )

    def _disconnected(self, exc: Exception) -> None:
        logger.warning("pubsub listener lost its connection: %s", exc)
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self.degraded = f"listener disconnected: {exc}"
        self._timer = threading.Timer(RECONNECT_SECONDS, cast, (self.actor_ref, _Listen()))
        self._timer.daemon = True
        self._timer.start()
