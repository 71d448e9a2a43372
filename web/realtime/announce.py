"""What the ledger announces when a block commits: `new_transaction` to every party of
each transaction, and `commission_earned` to a paid affiliate.

Injected into the ledger by the application's tree. On PostgreSQL the messages are a
NOTIFY inside the block's database transaction: sent by its commit, never by a rollback,
and received everywhere in commit order. On SQLite they are handed to this process's
subscribers after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import Connection, Engine

from actors import pubsub
from actors.ledger import Announcer


class LedgerAnnouncer(Announcer):
    def __init__(self, engine: Engine) -> None:
        self._distributed = pubsub.is_distributed(engine)
        self._pending: list[pubsub.Message] = []

    def during(self, conn: Connection, transactions: list[dict[str, Any]]) -> None:
        messages = list(messages_for(transactions))
        if self._distributed:
            pubsub.notify(conn, messages)
        else:
            self._pending = messages  # a retried block replaces what its failed try held

    def committed(self) -> None:
        pending, self._pending = self._pending, []
        pubsub.deliver_here(pending)


def messages_for(transactions: Iterable[Mapping[str, Any]]) -> Iterable[pubsub.Message]:
    for tx in transactions:
        paid = {p["user_id"]: p for p in tx["postings"] if p["user_id"] is not None}
        topics = tuple(f"transaction:{user_id}" for user_id in sorted(paid))
        yield pubsub.Message(topics, "new_transaction", tx)
        affiliate = tx.get("affiliate_id")
        if tx["kind"] == "purchase" and affiliate in paid:
            commission = {
                "amount": paid[affiliate]["amount"],
                "currency": tx["currency"],
                "transaction": tx,
            }
            yield pubsub.Message((f"notification:{affiliate}",), "commission_earned", commission)
