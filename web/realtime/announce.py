"""What the ledger announces when a block commits: `new_transaction` to every party of
each transaction, and `commission_earned` to a paid affiliate.

Injected into the ledger by the application's tree. On PostgreSQL the messages are a
NOTIFY inside the block's database transaction: sent by its commit, never by a rollback,
and received everywhere in commit order. On SQLite they are handed to this process's
subscribers after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Connection, Engine

from actors import pubsub
from actors.ledger import Announcer
from bitnexus.ledger import Transaction
from web import policy, render


class LedgerAnnouncer(Announcer):
    def __init__(self, engine: Engine) -> None:
        self._distributed = pubsub.is_distributed(engine)
        self._pending: list[pubsub.Message] = []

    def during(self, conn: Connection, transactions: list[Transaction]) -> None:
        messages = list(messages_for(transactions))
        if self._distributed:
            pubsub.notify(conn, messages)
        else:
            self._pending = messages  # a retried block replaces what its failed try held

    def committed(self) -> None:
        pending, self._pending = self._pending, []
        pubsub.deliver_here(pending)


def messages_for(transactions: Iterable[Transaction]) -> Iterable[pubsub.Message]:
    """`new_transaction` (as `GET /api/v1/transactions/:id` shows it) to every wallet a
    posting touches; `commission_earned` to an affiliate a purchase paid."""
    for tx in transactions:
        paid = {p.user_id: p for p in tx.postings if p.user_id is not None}
        shown = {
            user_id: render.transaction(policy.as_seen_by_user(user_id, tx)) for user_id in paid
        }
        for user_id in sorted(paid):  # each party sees only its own balances
            yield pubsub.Message((f"transaction:{user_id}",), "new_transaction", shown[user_id])
        if tx.kind == "purchase" and tx.affiliate_id in paid:
            commission = {
                "amount": render.decimal(paid[tx.affiliate_id].amount),
                "currency": tx.currency,
                "transaction": shown[tx.affiliate_id],
            }
            yield pubsub.Message(
                (f"notification:{tx.affiliate_id}",), "commission_earned", commission
            )
