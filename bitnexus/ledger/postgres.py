"""The ledger's block append on PostgreSQL: two pipelined round trips instead of hundreds.

The portable path (SQLAlchemy Core in `ledger_store`) sends each statement on its own and
each row of an executemany as its own statement. Here every read a batch needs under the
head lock goes out in one psycopg pipeline, and every write of the block in another, each
table's rows as one ``unnest(...)`` statement. The statements, their order and their locks
are the same as on the portable path; only the number of round trips differs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

HEAD = "SELECT block_index FROM ledger_head WHERE id = 1 FOR UPDATE"
# Read after the head lock is granted: in READ COMMITTED each statement sees every block
# committed before it, so these are the head's own values.
LAST_ID = "SELECT coalesce(max(id), 0) FROM ledger_transactions"
PREVIOUS_HASH = (
    'SELECT hash FROM ledger_blocks WHERE "index" = '
    "(SELECT block_index FROM ledger_head WHERE id = 1)"
)
KNOWN_KEYS = (
    "SELECT id, user_id, idempotency_key, request_hash FROM ledger_transactions "
    "WHERE (user_id, idempotency_key) IN (SELECT * FROM unnest(%s::int[], %s::text[]))"
)
LOCK_USERS = "SELECT id FROM users WHERE id = ANY(%s::int[]) ORDER BY id FOR KEY SHARE"
# A superset of the wanted accounts keeps the query simple; locking a few extra is harmless.
LOCK_ACCOUNTS = (
    "SELECT id, user_id, currency, balance FROM ledger_accounts "
    "WHERE currency = ANY(%s::text[]) AND (user_id IS NULL OR user_id = ANY(%s::int[])) "
    "ORDER BY id FOR UPDATE"
)
CREATE_ACCOUNTS = (
    "INSERT INTO ledger_accounts (user_id, currency, balance) "
    "SELECT u, c, 0 FROM unnest(%s::int[], %s::text[]) AS n(u, c) "
    "RETURNING id, user_id, currency, balance"
)
INSERT_BLOCK = (
    'INSERT INTO ledger_blocks ("index", previous_hash, merkle_root, "timestamp", '
    "transaction_count, hash) VALUES (%s, %s, %s, %s, %s, %s)"
)
INSERT_TRANSACTIONS = (
    "INSERT INTO ledger_transactions (id, block_index, position, kind, amount, currency, "
    "user_id, recipient_id, product_id, affiliate_id, description, idempotency_key, "
    "request_hash, hash, inserted_at) "
    "SELECT id, %s, position, kind, amount, currency, user_id, recipient_id, product_id, "
    "affiliate_id, description, idempotency_key, request_hash, hash, %s FROM unnest("
    "%s::bigint[], %s::int[], %s::text[], %s::bigint[], %s::text[], %s::int[], %s::int[], "
    "%s::int[], %s::int[], %s::text[], %s::text[], %s::text[], %s::text[]) AS t(id, position, "
    "kind, amount, currency, user_id, recipient_id, product_id, affiliate_id, description, "
    "idempotency_key, request_hash, hash)"
)
TRANSACTION_COLUMNS = (
    "id", "position", "kind", "amount", "currency", "user_id", "recipient_id", "product_id",
    "affiliate_id", "description", "idempotency_key", "request_hash", "hash",
)  # fmt: skip
INSERT_POSTINGS = (
    "INSERT INTO ledger_postings (transaction_id, position, account_id, amount, balance_after) "
    "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::bigint[], %s::bigint[])"
)
POSTING_COLUMNS = ("transaction_id", "position", "account_id", "amount", "balance_after")
UPDATE_BALANCES = (
    "UPDATE ledger_accounts AS a SET balance = v.balance "
    "FROM unnest(%s::int[], %s::bigint[]) AS v(id, balance) WHERE a.id = v.id"
)
MOVE_HEAD = "UPDATE ledger_head SET block_index = %s WHERE id = 1"
NOTIFY = "SELECT pg_notify(%s, %s)"

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Notice:
    """A NOTIFY sent inside a block's database transaction: delivered by its commit only,
    never by a rollback, and to every listener in commit order (so in block order)."""

    channel: str
    payload: str


def read_locked(
    conn: Connection,
    key_users: Sequence[int],
    keys: Sequence[str],
    user_ids: Sequence[int],
    currencies: Sequence[str],
) -> tuple[int, int, str, list[Row], list[Row], list[Row]]:
    """Lock the head, then read under it in one round trip.

    Returns (head index, last transaction id, the head block's hash, stored idempotency
    keys, the live users locked against deletion, the accounts locked for update).
    """
    with _pipeline(conn) as raw:
        cursors = [
            raw.execute(HEAD),
            raw.execute(LAST_ID),
            raw.execute(PREVIOUS_HASH),
            raw.execute(KNOWN_KEYS, (list(key_users), list(keys))) if keys else None,
            raw.execute(LOCK_USERS, (list(user_ids),)),
            raw.execute(LOCK_ACCOUNTS, (list(currencies), list(user_ids))),
        ]
        # The first fetch sends the whole pipeline and waits for all of it.
        head, last_id, previous = (c.fetchone()[0] for c in cursors[:3])  # type: ignore[union-attr,index]
        known, live, accounts = (c.fetchall() if c else [] for c in cursors[3:])
    return head, last_id, previous, known, live, accounts


def read_more(
    conn: Connection,
    key_users: Sequence[int],
    keys: Sequence[str],
    user_ids: Sequence[int],
    currencies: Sequence[str],
) -> tuple[list[Row], list[Row], list[Row]]:
    """With the head locked already: the stored keys, live users and accounts of entries
    joining the batch, locked like ``read_locked``'s, in one round trip."""
    with _pipeline(conn) as raw:
        cursors = [
            raw.execute(KNOWN_KEYS, (list(key_users), list(keys))) if keys else None,
            raw.execute(LOCK_USERS, (list(user_ids),)),
            raw.execute(LOCK_ACCOUNTS, (list(currencies), list(user_ids))),
        ]
        known, live, accounts = (c.fetchall() if c else [] for c in cursors)
    return known, live, accounts


def create_accounts(conn: Connection, wanted: Sequence[tuple[int | None, str]]) -> list[Row]:
    """New accounts at zero, created under the head lock (no other writer can race us)."""
    with _pipeline(conn) as raw:
        users, currencies = zip(*wanted, strict=True)
        return raw.execute(CREATE_ACCOUNTS, (list(users), list(currencies))).fetchall()


def write_block(
    conn: Connection,
    block: dict[str, Any],
    transactions: Sequence[dict[str, Any]],
    postings: Sequence[dict[str, Any]],
    balances: Sequence[tuple[int, int]],
    notice: Notice | None = None,
) -> None:
    """Insert the block, its transactions and postings, set balances, move the head, and
    commit: the COMMIT goes out in the same round trip as the writes, and so does the
    ``notice``. On return the block is durable; on an error nothing is known to be (the
    caller's transaction is aborted, its notice with it)."""
    index, now = block["index"], block["timestamp"]
    with _pipeline(conn) as raw:
        if notice is not None:
            raw.execute(NOTIFY, (notice.channel, notice.payload))
        raw.execute(INSERT_BLOCK, [block[k] for k in _BLOCK_COLUMNS])
        raw.execute(INSERT_TRANSACTIONS, [index, now, *_columns(transactions, TRANSACTION_COLUMNS)])
        raw.execute(INSERT_POSTINGS, _columns(postings, POSTING_COLUMNS))
        accounts, amounts = zip(*balances, strict=True)
        raw.execute(UPDATE_BALANCES, (list(accounts), list(amounts)))
        raw.execute(MOVE_HEAD, (index,))
        raw.commit()  # queued behind the writes; SQLAlchemy's own commit then finds it done


_BLOCK_COLUMNS = ("index", "previous_hash", "merkle_root", "timestamp", "transaction_count", "hash")


def _columns(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> list[list[Any]]:
    return [[row[name] for row in rows] for name in names]


@contextmanager
def _pipeline(conn: Connection) -> Iterator[psycopg.Connection]:
    """The psycopg connection in pipeline mode; its errors raised as SQLAlchemy's would be,
    so callers retry on 40001/40P01 and see a lost connection as one."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with raw.pipeline():
            yield raw
    except psycopg.Error as exc:
        invalidated = conn.dialect.is_disconnect(exc, raw, None)
        if invalidated:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            "ledger block (pipelined)", None, exc, psycopg.Error,
            connection_invalidated=invalidated, dialect=conn.dialect,
        ) from exc  # fmt: skip
