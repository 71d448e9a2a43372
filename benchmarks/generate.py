"""Grow a ledger fast with valid, chained data: real hashes, Merkle roots and links.

The scaling points (100 k, 1 M transactions) would take many minutes through the actor on
this machine, so their bulk is written with COPY. Every row is what the ledger itself
would write for a transfer of a random amount between two random wallets: the same
canonical transaction hashes, Merkle roots and block links, balances carried forward in
each posting, and the wallets' stored balances set to the result at the end. verify_chain
accepts it (the benchmark shows its verdict at every point). A checkpoint is signed
wherever the running ledger would sign one, with its own function and configured key and
interval, so a proof's walk ends where the production ledger's would.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa

from bitnexus.common.timestamps import iso
from bitnexus.config import Config
from bitnexus.database.schema import utcnow
from bitnexus.ledger import checkpoints
from bitnexus.ledger.hashing import block_hash, transaction_hash
from bitnexus.ledger.merkle import merkle_root

BLOCK_SIZE = 100  # transactions per generated block: the size of a busy ledger's blocks
CURRENCY = "EUR"


@dataclass
class _Tail:
    """Where the chain ends, and the balances of the wallets we post to."""

    head: int
    last_id: int
    previous_hash: str
    accounts: dict[int, tuple[int, int]]  # user id -> (account id, balance)


def grow(engine: sa.Engine, config: Config, count: int, seed: int = 7) -> None:
    """Append ``count`` transfers among the funded EUR wallets, in blocks of BLOCK_SIZE,
    signing a checkpoint wherever the running ledger configured by ``config`` would."""
    assert config.ledger_signing_key is not None, "the grown ledger signs its checkpoints"
    key = checkpoints.load_key(config.ledger_signing_key)
    raw_url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with engine.connect() as c:
        newest = checkpoints.last(c)
    last_signed = None if newest is None else newest.index
    with psycopg.connect(raw_url) as conn:
        tail = _tail(conn)
        rng = random.Random(seed + tail.last_id)
        users = sorted(tail.accounts)
        blocks, transactions, postings = [], [], []
        for block, block_transactions, block_postings in _blocks(tail, users, count, rng):
            blocks.append(block)
            transactions += block_transactions
            postings += block_postings
            if checkpoints.due(tail.head, last_signed, config.ledger_checkpoint_every):
                _write(conn, tail, blocks, transactions, postings)
                last_signed = checkpoints.sign_head(engine, key).index
                blocks, transactions, postings = [], [], []
        _write(conn, tail, blocks, transactions, postings)
    with engine.connect() as c:  # the planner's statistics, as autovacuum would refresh them
        c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def _write(
    conn: psycopg.Connection,
    tail: _Tail,
    blocks: list[tuple],
    transactions: list[tuple],
    postings: list[tuple],
) -> None:
    """Commit the rows with the wallets' balances and the head as of their last block."""
    with conn.cursor() as cur:
        _copy(cur, "ledger_blocks", _BLOCK_COLUMNS, blocks)
        _copy(cur, "ledger_transactions", _TX_COLUMNS, transactions)
        _copy(cur, "ledger_postings", _POSTING_COLUMNS, postings)
        cur.execute(
            "UPDATE ledger_accounts AS a SET balance = v.b "
            "FROM unnest(%s::int[], %s::bigint[]) AS v(id, b) WHERE a.id = v.id",
            ([a for a, _ in tail.accounts.values()], [b for _, b in tail.accounts.values()]),
        )
        # The head's guard lets it move one block at a time, as the ledger moves it.
        cur.executemany(
            "UPDATE ledger_head SET block_index = %s WHERE id = 1", [(b[0],) for b in blocks]
        )
    conn.commit()


_BLOCK_COLUMNS = ("index", "previous_hash", "merkle_root", "timestamp", "transaction_count", "hash")
_TX_COLUMNS = ("id", "block_index", "position", "kind", "amount", "currency", "user_id",
               "recipient_id", "hash", "inserted_at")  # fmt: skip
_POSTING_COLUMNS = ("transaction_id", "position", "account_id", "amount", "balance_after")


def _tail(conn: psycopg.Connection) -> _Tail:
    head = conn.execute("SELECT block_index FROM ledger_head WHERE id = 1").fetchone()
    assert head is not None
    previous = conn.execute('SELECT hash FROM ledger_blocks WHERE "index" = %s', head).fetchone()
    last_id = conn.execute("SELECT coalesce(max(id), 0) FROM ledger_transactions").fetchone()
    rows = conn.execute(
        "SELECT user_id, id, balance FROM ledger_accounts "
        "WHERE user_id IS NOT NULL AND currency = %s",
        (CURRENCY,),
    ).fetchall()
    assert previous is not None and last_id is not None
    return _Tail(head[0], last_id[0], previous[0], {u: (a, b) for u, a, b in rows})


def _blocks(
    tail: _Tail, users: list[int], count: int, rng: random.Random
) -> Iterator[tuple[tuple, list[tuple], list[tuple]]]:
    now = utcnow()
    stamp = iso(now)
    for first in range(0, count, BLOCK_SIZE):
        tail.head += 1
        transactions, postings, hashes = [], [], []
        for position in range(min(BLOCK_SIZE, count - first)):
            tail.last_id += 1
            sender, recipient = rng.sample(users, 2)
            amount = rng.randint(1, 100)
            (s_acc, s_bal), (r_acc, r_bal) = tail.accounts[sender], tail.accounts[recipient]
            s_bal, r_bal = s_bal - amount, r_bal + amount
            tail.accounts[sender], tail.accounts[recipient] = (s_acc, s_bal), (r_acc, r_bal)
            content = {
                "id": tail.last_id, "kind": "transfer", "amount": amount, "currency": CURRENCY,
                "user_id": sender, "recipient_id": recipient, "product_id": None,
                "affiliate_id": None, "description": None, "idempotency_key": None,
                "inserted_at": stamp,
            }  # fmt: skip
            hashed = [_posting(sender, -amount, s_bal), _posting(recipient, amount, r_bal)]
            digest = transaction_hash(content, hashed)
            hashes.append(digest)
            transactions.append((tail.last_id, tail.head, position, "transfer", amount, CURRENCY,
                                 sender, recipient, digest, now))  # fmt: skip
            postings.append((tail.last_id, 0, s_acc, -amount, s_bal))
            postings.append((tail.last_id, 1, r_acc, amount, r_bal))
        header = {
            "index": tail.head, "previous_hash": tail.previous_hash,
            "merkle_root": merkle_root(hashes), "timestamp": stamp,
            "transaction_count": len(transactions),
        }  # fmt: skip
        tail.previous_hash = block_hash(header)
        block = (tail.head, header["previous_hash"], header["merkle_root"], now,
                 len(transactions), tail.previous_hash)  # fmt: skip
        yield block, transactions, postings


def _posting(user_id: int, amount: int, balance: int) -> dict[str, object]:
    return {"user_id": user_id, "currency": CURRENCY, "amount": amount, "balance_after": balance}


def _copy(cur: psycopg.Cursor, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
