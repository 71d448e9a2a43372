"""Reads of the ledger as values (bitnexus/ledger/values.py): transactions, history,
balances, blocks.

Amounts leave as decimals in the currency's places; `places` maps a currency code to its
decimal places (`Config.currencies`).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from bitnexus.common.changeset import Changeset, cast_string, enum_caster
from bitnexus.common.errors import ValidationFailed
from bitnexus.common.money import from_minor
from bitnexus.common.pagination import Page, page, page_request
from bitnexus.common.timestamps import iso
from bitnexus.database.schema import MAX_ID, users
from bitnexus.ledger.hashing import BLOCK_FIELDS
from bitnexus.ledger.schema import (
    TRANSACTION_KINDS,
    ledger_accounts,
    ledger_blocks,
    ledger_head,
    ledger_postings,
    ledger_transactions,
)
from bitnexus.ledger.values import Block, Posting, Transaction

Places = Mapping[str, int]
HISTORY_CURSOR = "history"
TRANSACTIONS_CURSOR = "transactions"

_POSTING_COLUMNS = (
    ledger_postings.c.transaction_id,
    ledger_accounts.c.user_id,
    ledger_accounts.c.currency,
    ledger_postings.c.amount,
    ledger_postings.c.balance_after,
)


def head_index(conn: Connection) -> int | None:
    """The index of the chain's last block (None before genesis)."""
    return conn.execute(sa.select(ledger_head.c.block_index).where(ledger_head.c.id == 1)).scalar()


def to_transaction(
    row: Mapping[str, Any], postings: Iterable[Mapping[str, Any]], places: Places
) -> Transaction:
    """A recorded transaction; ``row`` holds its table's columns, ``postings`` theirs."""
    return Transaction(
        id=row["id"],
        kind=row["kind"],
        amount=from_minor(row["amount"], places[row["currency"]]),
        currency=row["currency"],
        user_id=row["user_id"],
        recipient_id=row["recipient_id"],
        product_id=row["product_id"],
        affiliate_id=row["affiliate_id"],
        description=row["description"],
        idempotency_key=row["idempotency_key"],
        postings=tuple(to_posting(p, places) for p in postings),
        block_index=row["block_index"],
        hash=row["hash"],
        inserted_at=row["inserted_at"],
    )


def to_posting(
    posting: Mapping[str, Any], places: Places, transaction: Transaction | None = None
) -> Posting:
    decimals = places[posting["currency"]]
    return Posting(
        user_id=posting["user_id"],
        currency=posting["currency"],
        amount=from_minor(posting["amount"], decimals),
        balance_after=from_minor(posting["balance_after"], decimals),
        transaction=transaction,
    )


def to_block(row: Mapping[str, Any], transactions: Iterable[Transaction] = ()) -> Block:
    return Block(
        index=row["index"],
        previous_hash=row["previous_hash"],
        merkle_root=row["merkle_root"],
        timestamp=row["timestamp"],
        transaction_count=row["transaction_count"],
        hash=row["hash"],
        transactions=tuple(transactions),
    )


def hashed_header(row: Mapping[str, Any]) -> dict[str, Any]:
    """A block's hashed fields as `block_hash` takes them (timestamp as text)."""
    header = {field: row[field] for field in BLOCK_FIELDS}
    header["timestamp"] = iso(row["timestamp"])
    return header


def block_header(row: Mapping[str, Any]) -> dict[str, Any]:
    """A block's hashed fields plus its stored hash."""
    return hashed_header(row) | {"hash": row["hash"]}


def _postings_where(condition: sa.ColumnElement[bool]) -> sa.Select:
    return (
        sa.select(*_POSTING_COLUMNS)
        .join(ledger_accounts, ledger_accounts.c.id == ledger_postings.c.account_id)
        .where(condition)
        .order_by(ledger_postings.c.transaction_id, ledger_postings.c.position)
    )


# Read on every transaction and history request: built once, as building a statement
# costs about as much CPU as executing it.
_POSTINGS_OF = _postings_where(
    ledger_postings.c.transaction_id.in_(sa.bindparam("ids", expanding=True))
)
_TRANSACTION = sa.select(ledger_transactions).where(
    ledger_transactions.c.id == sa.bindparam("transaction_id")
)


def postings_of(
    conn: Connection, transaction_ids: Iterable[int] | sa.Select
) -> dict[int, list[RowMapping]]:
    """Each transaction's postings in order, with their account's user and currency."""
    if isinstance(transaction_ids, sa.Select):  # a range of blocks, as a subquery
        query = _postings_where(ledger_postings.c.transaction_id.in_(transaction_ids))
        result = conn.execute(query)
    else:
        result = conn.execute(_POSTINGS_OF, {"ids": list(transaction_ids)})
    grouped: dict[int, list[RowMapping]] = defaultdict(list)
    for posting in result.mappings():
        grouped[posting["transaction_id"]].append(posting)
    return grouped


def transactions_where(
    conn: Connection, condition: sa.ColumnElement[bool], places: Places
) -> list[Transaction]:
    """The transactions matching ``condition``, in id order."""
    rows = (
        conn.execute(
            sa.select(ledger_transactions).where(condition).order_by(ledger_transactions.c.id)
        )
        .mappings()
        .all()
    )
    return transactions_of(conn, rows, places)


def transactions_of(
    conn: Connection, rows: Sequence[Mapping[str, Any]], places: Places
) -> list[Transaction]:
    """Transaction rows with their postings, in the rows' order."""
    postings = postings_of(conn, (row["id"] for row in rows))
    return [to_transaction(row, postings[row["id"]], places) for row in rows]


# A block's transactions with their postings, one row per posting: read by every process
# for every block announced (web/realtime/announce.py), so one statement, built once.
_BLOCK_TRANSACTIONS = (
    sa.select(
        ledger_transactions,
        ledger_accounts.c.user_id.label("posting_user_id"),
        ledger_accounts.c.currency.label("posting_currency"),
        ledger_postings.c.amount.label("posting_amount"),
        ledger_postings.c.balance_after,
    )
    .join(ledger_postings, ledger_postings.c.transaction_id == ledger_transactions.c.id)
    .join(ledger_accounts, ledger_accounts.c.id == ledger_postings.c.account_id)
    .where(ledger_transactions.c.block_index == sa.bindparam("block_index"))
    .order_by(ledger_transactions.c.position, ledger_postings.c.position)
)


def block_transactions(conn: Connection, index: int, places: Places) -> list[Transaction]:
    """Block ``index``'s transactions in order, with their postings (none for no block).

    One statement: the block is immutable once committed, so it needs no snapshot."""
    rows = conn.execute(_BLOCK_TRANSACTIONS, {"block_index": index}).mappings()
    grouped: dict[int, tuple[RowMapping, list[dict[str, Any]]]] = {}
    for row in rows:
        posting = {
            "user_id": row["posting_user_id"],
            "currency": row["posting_currency"],
            "amount": row["posting_amount"],
            "balance_after": row["balance_after"],
        }
        grouped.setdefault(row["id"], (row, []))[1].append(posting)
    return [to_transaction(row, postings, places) for row, postings in grouped.values()]


def get_transaction(conn: Connection, transaction_id: int, places: Places) -> Transaction | None:
    rows = conn.execute(_TRANSACTION, {"transaction_id": transaction_id}).mappings().all()
    found = transactions_of(conn, rows, places)
    return found[0] if found else None


def find_by_key(conn: Connection, user_id: int, key: str) -> RowMapping | None:
    """The id and request digest of ``user_id``'s transaction under idempotency ``key``."""
    query = sa.select(ledger_transactions.c.id, ledger_transactions.c.request_hash).where(
        ledger_transactions.c.user_id == user_id, ledger_transactions.c.idempotency_key == key
    )
    return conn.execute(query).mappings().first()


def history(
    conn: Connection,
    user_id: int,
    places: Places,
    *,
    currency: str | None = None,
    limit: object = None,
    cursor: object = None,
) -> Page[Posting]:
    """The user's postings, newest first, each with its transaction."""
    given = (("limit", limit), ("cursor", cursor), ("currency", currency))
    changeset = Changeset({k: v for k, v in given if v is not None}, {})
    changeset.cast("currency", cast_string).validate_inclusion("currency", places)
    request = page_request(changeset, HISTORY_CURSOR)
    if not changeset.valid:
        raise ValidationFailed(changeset.errors)
    currency = changeset.changes.get("currency")  # type: ignore[assignment]
    rows = _newest_postings(conn, user_id, currency, request.after, request.limit + 1)

    def entries(kept: Sequence[Mapping[str, Any]]) -> list[Posting]:
        ids = [row["transaction_id"] for row in kept]
        found = transactions_where(conn, ledger_transactions.c.id.in_(ids), places)
        by_id = {tx.id: tx for tx in found}
        return [to_posting(row, places, by_id[row["transaction_id"]]) for row in kept]

    return page(HISTORY_CURSOR, rows, request.limit, entries, key="transaction_id")


def _newest_postings(
    conn: Connection, user_id: int, currency: str | None, before: int | None, count: int
) -> list[dict[str, Any]]:
    """The user's ``count`` newest postings (older than transaction ``before``), newest first.

    One index range per account on (account_id, transaction_id), merged here: a single
    query joined on the user makes the planner walk all postings newest first and filter,
    which grows with the ledger (BENCHMARKS.md, scaling).
    """
    a, p = ledger_accounts, ledger_postings
    accounts = sa.select(a.c.id, a.c.currency).where(a.c.user_id == user_id)
    if currency is not None:
        accounts = accounts.where(a.c.currency == currency)
    pages = []
    for account_id, code in conn.execute(accounts).all():
        query = (
            sa.select(p.c.transaction_id, p.c.amount, p.c.balance_after)
            .where(p.c.account_id == account_id)
            .order_by(p.c.transaction_id.desc())
            .limit(count)
        )
        if before:  # the cursor holds the last transaction id seen; older ones follow
            query = query.where(p.c.transaction_id < before)
        pages.append(
            [
                {
                    "transaction_id": t,
                    "user_id": user_id,
                    "currency": code,
                    "amount": m,
                    "balance_after": b,
                }
                for t, m, b in conn.execute(query)
            ]
        )
    merged = heapq.merge(*pages, key=lambda row: row["transaction_id"], reverse=True)
    return list(itertools.islice(merged, count))


def _filtered(
    query: sa.Select[Any], kind: str | None, currency: str | None, before: int | None
) -> sa.Select[Any]:
    """``query`` of transactions narrowed to ``kind``, ``currency`` and ids below ``before``
    (a cursor holds the last id seen; older ones follow)."""
    t = ledger_transactions
    if kind is not None:
        query = query.where(t.c.kind == kind)
    if currency is not None:
        query = query.where(t.c.currency == currency)
    if before:
        query = query.where(t.c.id < before)
    return query


def _party_ids(
    conn: Connection,
    party_id: int,
    kind: str | None,
    currency: str | None,
    before: int | None,
    count: int,
) -> list[int]:
    """The ids of the ``count`` newest transactions with a posting on the party's wallets.

    One index range per account on (account_id, transaction_id), merged here, as history
    pages are: a single query joined on the user makes the planner walk every posting
    newest first and filter, which grows with the ledger, not with the user's activity.
    """
    a, p, t = ledger_accounts, ledger_postings, ledger_transactions
    accounts = sa.select(a.c.id).where(a.c.user_id == party_id)
    if currency is not None:
        accounts = accounts.where(a.c.currency == currency)
    ranges = []
    for account_id in conn.execute(accounts).scalars():
        touched = sa.select(p.c.transaction_id).where(p.c.account_id == account_id)
        if before:  # on the posting's own column, so the index range starts there
            touched = touched.where(p.c.transaction_id < before)
        touched = _filtered(touched.join(t, t.c.id == p.c.transaction_id), kind, currency, None)
        newest = touched.distinct().order_by(p.c.transaction_id.desc()).limit(count)
        ranges.append(conn.execute(newest).scalars().all())
    merged = heapq.merge(*ranges, reverse=True)
    return [tx_id for tx_id, _ in itertools.islice(itertools.groupby(merged), count)]


def list_transactions(
    conn: Connection, params: Mapping[str, object], party_id: int | None, places: Places
) -> Page[Transaction]:
    """Transactions newest first.

    Filters `kind` and `currency`; pages by `limit` and `cursor`. With ``party_id``, only
    the transactions with a posting on that user's wallets (the initiator always has
    one); the accounts' (user_id, currency) key and the postings' (account_id,
    transaction_id) index answer it.
    """
    changeset = Changeset(params, {})
    changeset.cast("kind", enum_caster(TRANSACTION_KINDS)).cast("currency", cast_string)
    changeset.validate_inclusion("currency", places)
    request = page_request(changeset, TRANSACTIONS_CURSOR)
    if not changeset.valid:
        raise ValidationFailed(changeset.errors)
    t = ledger_transactions
    kind, currency = changeset.changes.get("kind"), changeset.changes.get("currency")
    query = _filtered(sa.select(t), kind, currency, request.after)
    if party_id is not None:
        if not 0 < party_id <= MAX_ID:
            return Page(())  # beyond INTEGER: nobody's
        ids = _party_ids(conn, party_id, kind, currency, request.after, request.limit + 1)
        query = sa.select(t).where(t.c.id.in_(ids))
    rows = conn.execute(query.order_by(t.c.id.desc()).limit(request.limit + 1)).mappings().all()
    return page(
        TRANSACTIONS_CURSOR, rows, request.limit, lambda kept: transactions_of(conn, kept, places)
    )


# Read on every balances request: built once, as building a statement costs about as
# much CPU as executing it.
_BALANCES = sa.select(ledger_accounts.c.currency, ledger_accounts.c.balance).where(
    ledger_accounts.c.user_id == sa.bindparam("user_id")
)


def balances(conn: Connection, user_id: int, places: Places) -> dict[str, Decimal]:
    """The user's balance per currency, zero for currencies never used. One statement."""
    rows = conn.execute(_BALANCES, {"user_id": user_id})
    stored = {currency: balance for currency, balance in rows}
    return {code: from_minor(stored.get(code, 0), dp) for code, dp in places.items()}


def get_block(conn: Connection, index: int, places: Places) -> Block | None:
    """A block's header and its transactions in Merkle order."""
    row = conn.execute(sa.select(ledger_blocks).where(ledger_blocks.c.index == index)).mappings()
    block = row.first()
    if block is None:
        return None
    return to_block(block, block_transactions(conn, index, places))


def refuse_nonzero_balances(conn: Connection, user_id: int) -> None:
    """A delete guard for users: refuse while any of the user's balances is not zero."""
    # The ledger holds a KEY SHARE lock on every user it posts to until its block commits:
    # locking the row here first means the balances read below include any such block.
    conn.execute(sa.select(users.c.id).where(users.c.id == user_id).with_for_update())
    query = sa.select(ledger_accounts.c.id).where(
        ledger_accounts.c.user_id == user_id, ledger_accounts.c.balance != 0
    )
    if conn.execute(query.limit(1)).first() is not None:
        raise ValidationFailed({"balances": ["must all be zero before the user is deleted"]})
