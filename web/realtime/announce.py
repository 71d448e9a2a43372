"""What the ledger announces when a block commits: `new_transaction` to every party of
each transaction, and `commission_earned` to a paid affiliate.

The ledger's writer only names the block: on PostgreSQL `LedgerAnnouncer` gives it a
NOTIFY naming the block and its parties (`block:<index>:<user>,<user>,…`) sent inside the
block's database transaction, so by its commit only, never by a rollback, and to every
process's listener in commit order; on SQLite (one process) it hands the block's posted
transactions on after the commit. Each process's `Announcements` actor (registered name
`announcements`), fed in block order, reads a named block once through the ledger's
readers when one of its parties is subscribed here, renders the messages for the topics
that have a subscriber and hands them to this process's `pubsub`:
none of it in the writer's thread or under its head lock. A block it cannot read is a
gap: every subscriber catches up from the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from actors import ledger, pubsub
from actors.errors import NotFound, Unavailable
from actors.ledger import Announcer
from bitnexus.ledger import Notice, Transaction
from supervisors import ActorCrashed, CallTimeout, NoProcess, Worker, cast, registry
from web import policy, render

logger = logging.getLogger("bitnexus.announce")

NAME = "announcements"
BLOCK = "block"  # the kind of the ledger's notices: `block:<index>:<party>,<party>,…`


@dataclass(frozen=True)
class Posted:
    """A block committed in this process (SQLite): its posted transactions, in order."""

    transactions: tuple[Transaction, ...]


@dataclass(frozen=True)
class Named:
    """A block committed by any process (PostgreSQL), named by its NOTIFY with the users
    it posts to (None when they did not fit: then any process may want it)."""

    index: int
    parties: frozenset[int] | None


class LedgerAnnouncer(Announcer):
    """Injected into the ledger by the application's tree."""

    def __init__(self, engine: Engine) -> None:
        self._distributed = pubsub.is_distributed(engine)

    def notice(self, block_index: int, transactions: list[Transaction]) -> Notice | None:
        if not self._distributed:
            return None
        parties = sorted({p.user_id for tx in transactions for p in tx.postings if p.user_id})
        named = f"{BLOCK}:{block_index}:{','.join(map(str, parties))}"
        # The parties let a process with none of them subscribed skip the block's read.
        fits = len(named) <= pubsub.NOTIFY_LIMIT  # ASCII: characters are bytes
        return Notice(pubsub.CHANNEL, named if fits else f"{BLOCK}:{block_index}")

    def committed(self, transactions: list[Transaction]) -> None:
        if not self._distributed:
            _tell(Posted(tuple(transactions)))


def block_named(text: str) -> None:
    """The listener's handler for `block:<index>[:<parties>]` notices."""
    _tell(parse(text))


def parse(text: str) -> Named:
    """A `block:` notice's text: `<index>` or `<index>:<party>,<party>,…`."""
    index, listed, parties = text.partition(":")
    named = frozenset(map(int, parties.split(","))) if parties else frozenset()
    return Named(int(index), named if listed else None)


def _tell(message: Posted | Named) -> None:
    """To `announcements`; while it restarts the block is lost, so a gap. A tree without
    one (being stopped, or a test's) has nobody to tell."""
    if not registry.is_declared(NAME):
        return
    try:
        cast(NAME, message)
    except NoProcess:
        pubsub.report_gap()


class Announcements(Worker):
    """Renders each announced block's messages for this process's subscribers, in order."""

    def __init__(self, call_timeout: float) -> None:
        super().__init__()
        self._timeout = call_timeout

    def init(self) -> None:
        # A restart lost whatever was in the last one's inbox (nobody listens at first).
        pubsub.report_gap()

    def handle(self, message: object) -> object:
        match message:
            case Posted(transactions=transactions):
                self._announce(transactions)
            case Named(index=index, parties=parties):
                if parties is not None and not any(map(_subscribed, parties)):
                    return None  # a later join reads the ledger after it subscribed
                try:
                    transactions = ledger.block_transactions(index, timeout=self._timeout)
                except (Unavailable, NotFound, CallTimeout, NoProcess, ActorCrashed) as exc:
                    logger.warning("block %d not announced, subscribers catch up: %s", index, exc)
                    pubsub.report_gap()
                    return None
                self._announce(transactions)
            case _:
                return super().handle(message)
        return None

    def _announce(self, transactions: Sequence[Transaction]) -> None:
        pubsub.deliver_here(list(messages_for(transactions, pubsub.has_subscribers)))


def _subscribed(user_id: int) -> bool:
    """Whether ``user_id`` has a topic here that messages_for could serve."""
    return pubsub.has_subscribers(f"transaction:{user_id}") or pubsub.has_subscribers(
        f"notification:{user_id}"
    )


def messages_for(
    transactions: Iterable[Transaction], wanted: Callable[[str], bool] = lambda topic: True
) -> Iterable[pubsub.Message]:
    """`new_transaction` (as `GET /api/v1/transactions/:id` shows it) to every wallet a
    posting touches; `commission_earned` to an affiliate a purchase paid; only for the
    topics ``wanted``."""
    for tx in transactions:
        paid = {p.user_id: p for p in tx.postings if p.user_id is not None}
        shown: dict[int, dict[str, Any]] = {}
        for user_id in sorted(paid):  # each party sees only its own balances
            topic = f"transaction:{user_id}"
            if wanted(topic):
                yield pubsub.Message((topic,), "new_transaction", _shown(tx, user_id, shown))
        topic = f"notification:{tx.affiliate_id}"
        if tx.kind == "purchase" and tx.affiliate_id in paid and wanted(topic):
            commission = {
                "amount": render.decimal(paid[tx.affiliate_id].amount),
                "currency": tx.currency,
                "transaction": _shown(tx, tx.affiliate_id, shown),
            }
            yield pubsub.Message((topic,), "commission_earned", commission)


def _shown(tx: Transaction, user_id: int, shown: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """``tx`` rendered as ``user_id`` sees it, once per transaction and user."""
    if user_id not in shown:
        shown[user_id] = render.transaction(policy.as_seen_by_user(user_id, tx))
    return shown[user_id]
