"""Appending a batch of entries to the ledger as one block, in one database transaction.

Writers on any number of processes serialise on the `ledger_head` row, then lock the users
they post to (so a user can't be deleted under them) and the accounts they touch, in id
order. Entries are checked in arrival order against the locked balances: a refused entry
changes nothing and does not affect the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bitnexus.common.changeset import DOES_NOT_EXIST
from bitnexus.common.errors import ValidationFailed
from bitnexus.common.timestamps import iso
from bitnexus.database.schema import BIGINT_MAX, users, utcnow
from bitnexus.ledger import postgres as ledger_pg
from bitnexus.ledger.hashing import TRANSACTION_FIELDS, block_hash, transaction_hash
from bitnexus.ledger.limits import Limit, limit_of
from bitnexus.ledger.merkle import EMPTY_ROOT, merkle_root
from bitnexus.ledger.postgres import Notice
from bitnexus.ledger.postings import Move
from bitnexus.ledger.queries import Places, get_transaction, to_transaction
from bitnexus.ledger.schema import (
    TRANSACTION_KINDS,
    ledger_accounts,
    ledger_blocks,
    ledger_head,
    ledger_postings,
    ledger_transactions,
)
from bitnexus.ledger.values import Transaction

GENESIS = {
    "index": 0,
    "previous_hash": "0" * 64,
    "merkle_root": EMPTY_ROOT,
    "timestamp": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    "transaction_count": 0,
}
KEY_REUSED = "was already used for another request"
RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
MAX_ATTEMPTS = 5

AccountKey = tuple[int | None, str]  # (user id or None for the world, currency)


@dataclass(frozen=True)
class Entry:
    """A request to record one transaction; its postings must sum to zero."""

    kind: str
    user_id: int
    currency: str
    amount: int
    postings: tuple[Move, ...]
    recipient_id: int | None = None
    product_id: int | None = None
    affiliate_id: int | None = None
    description: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None

    def __post_init__(self) -> None:
        # Checked where the entry is built, so a malformed one never reaches a batch.
        if self.kind not in TRANSACTION_KINDS or self.amount <= 0:
            raise ValueError(f"invalid entry: {self.kind} of {self.amount}")
        totals: dict[str, int] = defaultdict(int)
        for posting in self.postings:
            if posting.amount == 0:
                raise ValueError("a posting of zero")
            totals[posting.currency] += posting.amount
        if any(totals.values()) or len(self.postings) < 2:
            raise ValueError(f"postings do not balance: {self.postings}")
        if len({(p.user_id, p.currency) for p in self.postings}) != len(self.postings):
            raise ValueError("two postings on one account")


Outcome = Transaction | ValidationFailed  # recorded (`replayed` for a retry) or refused
# A block's index and its transactions -> the NOTIFY it commits with.
Announce = Callable[[int, list[Transaction]], Notice | None]


def record(
    engine: Engine,
    entries: Sequence[Entry],
    places: Places,
    limits: Mapping[str, Limit] = MappingProxyType({}),
    announce: Announce | None = None,
) -> list[Outcome]:
    """Append ``entries`` as one block; one outcome per entry, in order (``announce`` as
    in `Prepared.commit`).

    Retries the whole batch on a serialization failure or deadlock. Any other error
    propagates: then nothing of the batch was recorded (or, if the commit itself was cut
    off, possibly all of it — idempotency keys make a retry safe).
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return prepare(engine, entries, places, limits).commit(announce)
        except DBAPIError as exc:
            if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                raise
    raise AssertionError("unreachable")


def prepare(
    engine: Engine,
    entries: Sequence[Entry],
    places: Places,
    limits: Mapping[str, Limit] = MappingProxyType({}),
    more: Callable[[], Sequence[Entry]] | None = None,
) -> Prepared:
    """Lock the head, check ``entries`` against the chain as it is, and build the block
    (rows, hashes, replies): everything but its writes, which ``commit`` sends.

    The head stays locked until the commit, so a block prepared meanwhile on another
    connection waits for this one's outcome and then sees the chain as it really is.
    Retried on a serialization failure or deadlock (nothing is written yet).

    On PostgreSQL, ``more()`` is asked once the head lock is granted: the entries it
    returns join the block (after ``entries``, in order). Requests that queued while
    this writer waited for another process's block then share one block instead of
    each paying for a lock hand-off of its own.
    """
    batch = list(entries)  # grows by what ``more()`` hands over, kept across retries
    for attempt in range(1, MAX_ATTEMPTS + 1):
        conn = engine.connect()
        try:
            conn.begin()
            return _prepare(conn, batch, places, limits, more)
        except DBAPIError as exc:
            conn.close()  # rolls back: nothing of the batch was recorded
            if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                raise
        except BaseException:
            conn.close()
            raise
    raise AssertionError("unreachable")


def is_retryable(exc: DBAPIError) -> bool:
    """A serialization failure or deadlock: the whole batch may be tried again."""
    return _sqlstate(exc) in RETRY_SQLSTATES


def ensure_genesis(engine: Engine) -> None:
    """Create block 0 and the head row unless present (safe from several processes)."""
    genesis = GENESIS | {"hash": block_hash(GENESIS | {"timestamp": iso(GENESIS["timestamp"])})}
    with engine.begin() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(insert(ledger_blocks).values(genesis).on_conflict_do_nothing())
        conn.execute(insert(ledger_head).values(id=1, block_index=0).on_conflict_do_nothing())


@dataclass(frozen=True)
class _Accepted:
    """A pointer to the n-th accepted entry of the batch: posted now, or replayed."""

    n: int
    replay: bool


@dataclass
class _Batch:
    """The locked accounts, as the accepted entries leave them."""

    accounts: dict[AccountKey, list[int]]  # key -> [account id, balance]
    limits: Mapping[str, Limit]
    accepted: list[tuple[Entry, list[int]]] = field(default_factory=list)  # balances after


@dataclass
class Prepared:
    """A block checked and built under the head lock; ``commit`` writes it."""

    conn: Connection
    decided: list[Outcome | _Accepted]
    block: _Block | None  # None when every entry was refused or replayed

    def commit(self, announce: Announce | None = None) -> list[Outcome]:
        """Write the block and commit; the outcomes in order. On an error nothing is known
        to be recorded (the transaction is rolled back) and the connection is closed.

        On PostgreSQL, ``announce(index, transactions)`` names the `Notice` sent inside the
        block's database transaction (none for a block that posts nothing)."""
        try:
            posted: list[Transaction] = []
            if self.block is not None:
                index, replies = self.block.block["index"], self.block.replies
                notice = announce(index, replies) if announce is not None else None
                posted = self.block.write(self.conn, notice)
            self.conn.commit()
        finally:
            self.conn.close()
        return [
            (dataclasses.replace(posted[d.n], replayed=True) if d.replay else posted[d.n])
            if isinstance(d, _Accepted)
            else d
            for d in self.decided
        ]

    def abandon(self) -> None:
        """Roll back without writing (the callers are told nothing was posted)."""
        self.conn.close()


def _prepare(
    conn: Connection,
    entries: list[Entry],
    places: Places,
    limits: Mapping[str, Limit],
    more: Callable[[], Sequence[Entry]] | None,
) -> Prepared:
    if _is_pg(conn):
        locked = _read_locked_pg(conn, entries)
        extra = more() if more is not None else ()
        if extra:
            entries.extend(extra)
            _lock_more_pg(conn, extra, locked)
    else:
        locked = _read_locked(conn, entries)
    batch = _Batch(locked.accounts, limits)
    seen: dict[tuple[int, str], tuple[int, str | None]] = {}  # key -> (n, request digest)
    decided: list[Outcome | _Accepted] = []
    for entry in entries:
        outcome = _decide(conn, entry, locked.known, seen, locked.live, batch, places)
        if isinstance(outcome, _Accepted) and entry.idempotency_key is not None:
            seen.setdefault((entry.user_id, entry.idempotency_key), (outcome.n, entry.request_hash))
        decided.append(outcome)
    block = _build_block(conn, locked, batch, places) if batch.accepted else None
    return Prepared(conn, decided, block)


@dataclass
class _Locked:
    """What a batch reads once the head is locked."""

    head: int
    known: dict[tuple[int, str], Any]  # stored idempotency keys of the batch's users
    live: set[int]  # users posted to that exist, locked against deletion
    accounts: dict[AccountKey, list[int]]  # key -> [account id, balance], locked
    last_id: int | None = None  # read with the locks on PostgreSQL, else when writing
    previous_hash: str | None = None


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _read_locked(conn: Connection, entries: Sequence[Entry]) -> _Locked:
    # The head alone: joined to its block, PostgreSQL would recheck the join after the
    # wait against the old snapshot, where the block just appended by another writer is
    # missing. Statements after the lock see everything committed before it was granted.
    head = conn.execute(
        sa.select(ledger_head.c.block_index).where(ledger_head.c.id == 1).with_for_update()
    ).scalar_one()
    known = _known_keys(conn, entries)
    live = _lock_users(conn, entries)
    return _Locked(head, known, live, _lock_accounts(conn, entries, live))


def _read_locked_pg(conn: Connection, entries: Sequence[Entry]) -> _Locked:
    """The same locks and reads in one round trip (`ledger_pg`), plus the chain's tail."""
    head, last_id, previous, *rows = ledger_pg.read_locked(conn, *_lookups(entries))
    locked = _Locked(head, {}, set(), {}, last_id, previous)
    _merge_locked(conn, entries, locked, *rows)
    return locked


def _lock_more_pg(conn: Connection, entries: Sequence[Entry], locked: _Locked) -> None:
    """Entries joining a batch under the head lock: their keys, users and accounts."""
    _merge_locked(conn, entries, locked, *ledger_pg.read_more(conn, *_lookups(entries)))


def _lookups(entries: Sequence[Entry]) -> tuple[list[int], list[str], list[int], list[str]]:
    """(key users, keys, users posted to, currencies) for `ledger_pg`'s reads."""
    keys = {(e.user_id, e.idempotency_key) for e in entries if e.idempotency_key is not None}
    posted = sorted({p.user_id for e in entries for p in e.postings if p.user_id is not None})
    currencies = sorted({p.currency for e in entries for p in e.postings})
    return [u for u, _ in keys], [k for _, k in keys], posted, currencies


def _merge_locked(
    conn: Connection,
    entries: Sequence[Entry],
    locked: _Locked,
    known: Sequence[Any],
    live_rows: Sequence[Any],
    account_rows: Sequence[Any],
) -> None:
    locked.live |= {row[0] for row in live_rows}
    for i, u, c, b in account_rows:  # an account locked already keeps its running balance
        locked.accounts.setdefault((u, c), [i, b])
    wanted = _wanted_accounts(entries, locked.live)
    missing = sorted(wanted - locked.accounts.keys(), key=lambda k: (k[0] or 0, k[1]))
    if missing:  # the head lock is held: no other writer can be creating them
        rows = ledger_pg.create_accounts(conn, missing)
        locked.accounts |= {(u, c): [i, b] for i, u, c, b in rows}
    for id_, user, key, digest in known:
        locked.known[(user, key)] = {
            "id": id_,
            "user_id": user,
            "idempotency_key": key,
            "request_hash": digest,
        }


def _wanted_accounts(entries: Sequence[Entry], live: set[int]) -> set[AccountKey]:
    """The batch's accounts of existing users and the world."""
    return {
        (p.user_id, p.currency)
        for e in entries
        for p in e.postings
        if p.user_id is None or p.user_id in live
    }


def _decide(
    conn: Connection,
    entry: Entry,
    known: Mapping[tuple[int, str], Mapping[str, Any]],
    seen: Mapping[tuple[int, str], tuple[int, str | None]],
    live: set[int],
    batch: _Batch,
    places: Places,
) -> Outcome | _Accepted:
    """An idempotency key already used (before or earlier in this batch) decides first."""
    if entry.idempotency_key is None:
        return _apply(entry, live, batch)
    key = (entry.user_id, entry.idempotency_key)
    if key in known:
        return _replay_stored(conn, entry, known[key], places)
    if key in seen:
        n, digest = seen[key]
        return _Accepted(n, replay=True) if digest == entry.request_hash else _key_reused()
    return _apply(entry, live, batch)


def _apply(entry: Entry, live: set[int], batch: _Batch) -> ValidationFailed | _Accepted:
    """Accept ``entry`` against the batch's balances, or say why not (changing nothing)."""
    for posting in entry.postings:
        if posting.user_id is not None and posting.user_id not in live:
            return ValidationFailed({_field_of(entry, posting.user_id): [DOES_NOT_EXIST]})
    keys = [(p.user_id, p.currency) for p in entry.postings]
    after = [batch.accounts[k][1] + p.amount for k, p in zip(keys, entry.postings, strict=True)]
    for (user_id, currency), balance in zip(keys, after, strict=True):
        if user_id is not None and balance < 0:
            return ValidationFailed({"amount": ["insufficient funds"]})
        if not -BIGINT_MAX <= balance <= BIGINT_MAX:
            return ValidationFailed({"amount": ["would exceed the largest balance"]})
        if user_id is not None and balance > limit_of(batch.limits, currency).per_wallet:
            return ValidationFailed({"amount": ["would exceed the wallet limit"]})
    for key, balance in zip(keys, after, strict=True):
        batch.accounts[key][1] = balance
    batch.accepted.append((entry, after))
    return _Accepted(len(batch.accepted) - 1, replay=False)


def _replay_stored(
    conn: Connection, entry: Entry, stored: Mapping[str, Any], places: Places
) -> Outcome:
    if stored["request_hash"] != entry.request_hash:
        return _key_reused()
    original = get_transaction(conn, stored["id"], places)
    assert original is not None  # the key was read under the head lock: it is committed
    return dataclasses.replace(original, replayed=True)


def _key_reused() -> ValidationFailed:
    return ValidationFailed({"idempotency_key": [KEY_REUSED]})


def _field_of(entry: Entry, user_id: int) -> str:
    """The request field that named a user who does not exist (any more)."""
    for name in ("user_id", "recipient_id", "affiliate_id"):
        if getattr(entry, name) == user_id:
            return name
    return "product_id"  # the vendor of the product


def _known_keys(conn: Connection, entries: Sequence[Entry]) -> dict[tuple[int, str], Any]:
    keys = {(e.user_id, e.idempotency_key) for e in entries if e.idempotency_key is not None}
    if not keys:
        return {}
    t = ledger_transactions
    query = sa.select(t.c.id, t.c.user_id, t.c.idempotency_key, t.c.request_hash).where(
        sa.tuple_(t.c.user_id, t.c.idempotency_key).in_(list(keys))
    )
    return {(r["user_id"], r["idempotency_key"]): r for r in conn.execute(query).mappings()}


def _lock_users(conn: Connection, entries: Sequence[Entry]) -> set[int]:
    """Users posted to that still exist, locked against deletion until the commit."""
    ids = sorted({p.user_id for e in entries for p in e.postings if p.user_id is not None})
    query = (
        sa.select(users.c.id)
        .where(users.c.id.in_(ids))
        .order_by(users.c.id)
        .with_for_update(read=True, key_share=True)
    )
    return set(conn.execute(query).scalars())


def _lock_accounts(
    conn: Connection, entries: Sequence[Entry], live: set[int]
) -> dict[AccountKey, list[int]]:
    """The batch's accounts of existing users and the world (created at zero when new),
    locked in id order."""
    wanted = _wanted_accounts(entries, live)
    a = ledger_accounts
    user_ids = {user for user, _ in wanted if user is not None}
    currencies = {currency for _, currency in wanted}
    # A superset of the wanted accounts keeps the query simple; locking a few extra is harmless.
    query = sa.select(a.c.id, a.c.user_id, a.c.currency, a.c.balance).where(
        a.c.currency.in_(currencies), sa.or_(a.c.user_id.is_(None), a.c.user_id.in_(user_ids))
    )
    query = query.order_by(a.c.id).with_for_update()
    locked = {(r.user_id, r.currency): [r.id, r.balance] for r in conn.execute(query)}
    missing = [{"user_id": u, "currency": c, "balance": 0} for u, c in wanted - locked.keys()]
    if missing:  # the head lock is held: no other writer can be creating them
        conn.execute(sa.insert(a), missing)
        locked = {(r.user_id, r.currency): [r.id, r.balance] for r in conn.execute(query)}
    return locked


@dataclass
class _Block:
    """A block's rows, hashed, and the replies its callers get once it is committed."""

    block: dict[str, Any]
    transactions: list[dict[str, Any]]
    postings: list[dict[str, Any]]
    balances: list[tuple[int, int]]  # (account id, balance), id order
    replies: list[Transaction]

    def write(self, conn: Connection, notice: Notice | None) -> list[Transaction]:
        """Insert the block, its transactions and postings, set balances, move the head;
        on PostgreSQL the COMMIT goes out with them, and the ``notice``. The replies, in
        order."""
        if _is_pg(conn):
            ledger_pg.write_block(
                conn, self.block, self.transactions, self.postings, self.balances, notice
            )
            return self.replies
        if notice is not None:
            raise ValueError("a NOTIFY needs PostgreSQL")
        conn.execute(sa.insert(ledger_blocks), self.block)
        conn.execute(sa.insert(ledger_transactions), self.transactions)
        conn.execute(sa.insert(ledger_postings), self.postings)
        a = ledger_accounts
        conn.execute(
            sa.update(a)
            .where(a.c.id == sa.bindparam("account"))
            .values(balance=sa.bindparam("to")),
            [{"account": account, "to": balance} for account, balance in self.balances],
        )
        conn.execute(
            sa.update(ledger_head)
            .where(ledger_head.c.id == 1)
            .values(block_index=self.block["index"])
        )
        return self.replies


def _build_block(conn: Connection, locked: _Locked, batch: _Batch, places: Places) -> _Block:
    """The accepted entries as block ``head + 1``: rows, hashes and replies."""
    now = utcnow()
    index = locked.head + 1
    last_id = locked.last_id
    if last_id is None:
        last_id = conn.execute(sa.select(sa.func.max(ledger_transactions.c.id))).scalar() or 0
    transactions, postings, replies = [], [], []
    for position, (entry, after) in enumerate(batch.accepted):
        row, hashed = _transaction_row(entry, after, last_id + 1 + position, now)
        row |= {"block_index": index, "position": position}
        transactions.append(row)
        postings += [
            {
                "transaction_id": row["id"],
                "position": i,
                "account_id": batch.accounts[(p["user_id"], p["currency"])][0],
                "amount": p["amount"],
                "balance_after": p["balance_after"],
            }
            for i, p in enumerate(hashed)
        ]
        replies.append(to_transaction(row, hashed, places))
    previous = locked.previous_hash
    if previous is None:
        query = sa.select(ledger_blocks.c.hash).where(ledger_blocks.c.index == locked.head)
        previous = conn.execute(query).scalar_one()
    header = {
        "index": index,
        "previous_hash": previous,
        "merkle_root": merkle_root([row["hash"] for row in transactions]),
        "timestamp": iso(now),
        "transaction_count": len(transactions),
    }
    block = header | {"timestamp": now, "hash": block_hash(header)}
    touched = {(p.user_id, p.currency) for entry, _ in batch.accepted for p in entry.postings}
    balances = sorted(tuple(batch.accounts[k]) for k in touched)  # (id, balance), id order
    return _Block(block, transactions, postings, balances, replies)  # type: ignore[arg-type]


def _transaction_row(
    entry: Entry, after: list[int], tx_id: int, now: dt.datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The transaction's table row, hash included, and its postings as they are hashed."""
    content = {field: getattr(entry, field, None) for field in TRANSACTION_FIELDS}
    content |= {"id": tx_id, "inserted_at": iso(now)}
    hashed = [
        {"user_id": p.user_id, "currency": p.currency, "amount": p.amount, "balance_after": b}
        for p, b in zip(entry.postings, after, strict=True)
    ]
    row = content | {
        "inserted_at": now,
        "request_hash": entry.request_hash,
        "hash": transaction_hash(content, hashed),
    }
    return row, hashed


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)
