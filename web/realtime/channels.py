"""Channels: one actor per joined topic of a socket, as Phoenix's channel processes.

A channel is started under the `channels` dynamic supervisor (temporary) when its socket
receives `phx_join`. It authorizes the join, subscribes to its topic on `pubsub`, replies,
and pushes what is published on the topic to its client (`[join_ref, null, topic, event,
payload]`). When it crashes, its socket sends `phx_error` and the client rejoins.

Topics: `transaction:<user_id>` (`new_transaction`, resumable with `{"after": id}`),
`notification:<user_id>` (`product_status_changed`, `commission_earned`) and
`admin:supervision` (every worker's tree, `supervisor_event`, `tree`).
"""

from __future__ import annotations

import logging
from asyncio import AbstractEventLoop
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pykka import ActorRef

from actors import pubsub, transactions
from actors.errors import Unavailable
from bitnexus.common.pagination import Page
from bitnexus.ledger import Transaction
from supervisors import CallTimeout, Down, LoopWorker, NoProcess, cast, monitor
from web.auth import Caller, Credentials
from web.realtime import announce, supervision
from web.realtime.serializer import Frame, encode

logger = logging.getLogger("bitnexus.channels")

REPLAY_LIMIT = 500  # transactions a resuming join may be behind; beyond: too_far_behind
PAGE = 100  # the transactions service's largest page


class Transport(Protocol):
    """Where a socket's frames go: a WebSocket on the hub, or a LongPoll session.

    ``control_topic``: a topic the socket subscribes to for requests that reached another
    worker, handed to ``control`` (LongPoll); None for none.
    """

    control_topic: str | None

    def send(self, text: str) -> None: ...

    def close(self, code: int = 1000) -> None: ...

    def control(self, event: str, payload: Any) -> None: ...


@dataclass(frozen=True)
class Joined:
    """What a channel needs besides its topic: whom it serves and how to reach them."""

    socket: ActorRef[Any] | None
    transport: Transport
    vsn: str
    caller: Caller
    credentials: Credentials
    call_timeout: float
    loop: AbstractEventLoop  # the socket hub's: where the socket and channels run


@dataclass(frozen=True)
class Join:
    frame: Frame


@dataclass(frozen=True)
class Leave:
    frame: Frame


@dataclass(frozen=True)
class ClientEvent:
    frame: Frame


@dataclass(frozen=True)
class Close:
    """From the socket: a duplicate join replaces this channel, or the socket is gone."""

    notify: bool


@dataclass(frozen=True)
class Forget:
    """To the socket: this channel ended without crashing (join refused, left)."""

    topic: str
    join_ref: str | None


@dataclass(frozen=True)
class ChannelDown:
    """To the socket: this channel stopped without being asked to (a crash)."""

    topic: str
    join_ref: str | None


class JoinRefused(Exception):
    """A join answered `{"status": "error", "response": {"reason": ...}}`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Channel(LoopWorker):
    """The generic part; a topic family overrides `authorize`, `joined` and friends.

    It runs on the socket hub's loop; a join and a catch-up (calls, ledger reads) run off it.
    """

    def __init__(self, topic: str, join_ref: str | None, joined: Joined) -> None:
        super().__init__(joined.loop)
        self.topic = topic
        self.join_ref = join_ref
        self.ctx = joined
        self._subscribed = False
        self._ended = False  # stopped on purpose: no phx_error

    def init(self) -> None:
        # A start that outlived its socket's patience (a timed-out start_child) leaves a
        # channel the socket never heard of: every channel goes when its socket goes.
        monitor(self.ctx.socket, me=self)

    # What a topic family defines.

    def authorize(self, params: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def joined(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The join reply's response; may raise `JoinRefused`."""
        return {}

    def after_join(self) -> None:
        """Runs right after the join reply (pushes that must follow it)."""

    def delivered(self, message: pubsub.Delivered) -> None:
        self.push(message.event, message.payload)

    def catch_up(self) -> None:
        """Notifications may have been missed (the listener reconnected)."""

    # The protocol.

    def blocks(self, message: object) -> bool:
        return isinstance(message, Join | pubsub.CatchUp)

    def handle(self, message: object) -> object:
        match message:
            case pubsub.Delivered():
                self.delivered(message)
            case Join(frame=frame):
                self._join(frame)
            case Leave(frame=frame):
                self.reply(frame, "ok", {})
                self.push("phx_close", {}, ref=self.join_ref)
                self._end()
            case ClientEvent(frame=frame):
                self.reply(frame, "error", {"reason": "unknown event"})
            case Close(notify=notify):
                if notify:
                    self.push("phx_close", {}, ref=self.join_ref)
                self._ended = True
                self.stop()
            case pubsub.CatchUp():
                self.catch_up()
            case Down():  # the socket: nobody to push to
                self._ended = True
                self.stop()
            case _:
                return super().handle(message)
        return None

    def _join(self, frame: Frame) -> None:
        params = frame.payload if isinstance(frame.payload, dict) else {}
        if not self.authorize(params):
            self._refuse(frame, "unauthorized")
            return
        pubsub.subscribe(self.topic, self.actor_ref, self.ctx.call_timeout)
        self._subscribed = True  # before reading: what commits from now on arrives live
        try:
            response = self.joined(params)
        except JoinRefused as exc:
            self._refuse(frame, exc.reason)
            return
        except (Unavailable, CallTimeout, NoProcess):  # the client rejoins after a back-off
            self._refuse(frame, "unavailable")
            return
        self.reply(frame, "ok", response)
        self.after_join()

    def _refuse(self, frame: Frame, reason: str) -> None:
        self.reply(frame, "error", {"reason": reason})
        self._end()

    def _end(self) -> None:
        self._ended = True
        cast(self.ctx.socket, Forget(self.topic, self.join_ref))
        self.stop()

    def terminate(self) -> None:
        if self._subscribed:
            pubsub.unsubscribe(self.topic, self.actor_ref)
        if not self._ended:
            cast(self.ctx.socket, ChannelDown(self.topic, self.join_ref))

    def push(self, event: str, payload: Any, ref: str | None = None) -> None:
        frame = Frame(self.join_ref, ref, self.topic, event, payload)
        self.ctx.transport.send(encode(frame, self.ctx.vsn))

    def reply(self, frame: Frame, status: str, response: Any) -> None:
        payload = {"status": status, "response": response}
        reply = Frame(self.join_ref, frame.ref, self.topic, "phx_reply", payload)
        self.ctx.transport.send(encode(reply, self.ctx.vsn))

    def own_user(self) -> int | None:
        """The user id of a `<family>:<user_id>` topic."""
        _, _, rest = self.topic.partition(":")
        return int(rest) if rest.isascii() and rest.isdigit() and len(rest) < 12 else None

    def may_see_user(self) -> bool:
        user_id = self.own_user()
        caller = self.ctx.caller
        return user_id is not None and (caller.is_admin or caller.is_self(user_id))


class TooFarBehind(Exception):
    """More than REPLAY_LIMIT transactions after the id a client resumes from."""


class LedgerChannel(Channel):
    """A user's topic fed by the ledger's announcements: after a gap (the listener
    reconnected, a block could not be read) it pushes from the ledger what the topic
    would have carried since the newest transaction it covers.

    The join subscribes before it reads the ledger, so a transaction committed meanwhile
    is both read and delivered: pushes are kept in id order and never repeated by pushing
    only ids above the last one covered (the ledger announces blocks in commit order).
    """

    def joined(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self._last, _ = self._tail(None)
        return {}

    def delivered(self, message: pubsub.Delivered) -> None:
        tx_id = self.transaction_id(message.payload)
        if tx_id is not None:
            if tx_id <= self._last:
                return  # already pushed (by the join's read or a catch-up)
            self._last = tx_id
        self.push(message.event, message.payload)

    def transaction_id(self, payload: Any) -> int | None:
        """The id of the transaction a pushed payload is about; None if none."""
        raise NotImplementedError

    def catch_up(self) -> None:
        _newest, missed = self._tail(self._last)  # too far behind: crash, the client rejoins
        self._push_all(missed)

    def _push_all(self, missed: list[Transaction]) -> None:
        for message in announce.messages_for(missed, self.topic.__eq__):
            self.push(message.event, message.payload)
        if missed:
            self._last = max(self._last, missed[-1].id)

    def _tail(self, after: int | None) -> tuple[int, list[Transaction]]:
        """The newest id the user is party to, and their transactions after ``after``,
        oldest first (none when ``after`` is None)."""
        user_id = self.own_user()
        page = self._page(user_id, PAGE if after is not None else 1, None)
        newest = page.items[0].id if page.items else 0
        if after is None:
            return newest, []
        newer: list[Transaction] = []
        while True:
            for tx in page.items:
                if tx.id <= after:
                    return max(newest, after), newer[::-1]
                newer.append(tx)
                if len(newer) > REPLAY_LIMIT:
                    raise TooFarBehind()
            if page.next_cursor is None:
                return max(newest, after), newer[::-1]
            page = self._page(user_id, PAGE, page.next_cursor)

    def _page(self, user_id: int | None, limit: int, cursor: str | None) -> Page[Transaction]:
        params: dict[str, object] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return transactions.list_transactions(
            params, party_id=user_id, timeout=self.ctx.call_timeout
        )


class TransactionChannel(LedgerChannel):
    """`transaction:<user_id>`: every transaction the user is a party to, once, in order;
    a join may resume with ``{"after": id}``."""

    def authorize(self, params: Mapping[str, Any]) -> bool:
        return self.may_see_user()

    def joined(self, params: Mapping[str, Any]) -> dict[str, Any]:
        after = params.get("after")
        if after is not None and (type(after) is not int or after < 0):
            raise JoinRefused("invalid after")
        try:
            self._last, self._backlog = self._tail(after)
        except TooFarBehind:
            raise JoinRefused("too_far_behind") from None
        return {"last_transaction_id": self._last}

    def after_join(self) -> None:
        self._push_all(self._backlog)
        self._backlog = []

    def transaction_id(self, payload: Any) -> int | None:
        return payload.get("id")


class NotificationChannel(LedgerChannel):
    """`notification:<user_id>`: `product_status_changed`, and `commission_earned` (also
    caught up from the ledger after a gap)."""

    def authorize(self, params: Mapping[str, Any]) -> bool:
        return self.may_see_user()

    def transaction_id(self, payload: Any) -> int | None:
        return payload.get("transaction", {}).get("id")


class SupervisionChannel(Channel):
    """`admin:supervision`: every worker's tree on join, then its events and snapshots."""

    def authorize(self, params: Mapping[str, Any]) -> bool:
        if self.topic != supervision.TOPIC:
            return False
        caller = self.ctx.caller
        if not caller.is_admin:
            caller = self.ctx.credentials.caller(params.get("token"))
        return caller is not None and caller.is_admin

    def joined(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"workers": supervision.workers(self.ctx.call_timeout)}


FAMILIES: dict[str, type[Channel]] = {
    "transaction": TransactionChannel,
    "notification": NotificationChannel,
    "admin": SupervisionChannel,
}


def channel_for(topic: str) -> type[Channel] | None:
    """The channel class serving ``topic``; None: "unmatched topic"."""
    family, sep, _ = topic.partition(":")
    return FAMILIES.get(family) if sep else None
