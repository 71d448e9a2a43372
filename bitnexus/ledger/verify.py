"""Verification: recompute hashes, Merkle roots and links, and compare with what is stored.

Nothing here trusts a stored hash it can recompute: a transaction's hash is taken again
over its content and postings, a block's Merkle root over those recomputed hashes, and
its hash over its header. Run inside a `snapshot` so writers don't shift the ground.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from bitnexus.common.timestamps import iso
from bitnexus.ledger.checkpoints import next_checkpoint
from bitnexus.ledger.hashing import (
    BLOCK_FIELDS,
    TRANSACTION_FIELDS,
    block_hash,
    transaction_hash,
)
from bitnexus.ledger.merkle import merkle_proof, merkle_root, root_from_proof
from bitnexus.ledger.queries import block_header, hashed_header, postings_of, to_block
from bitnexus.ledger.schema import (
    ledger_accounts,
    ledger_blocks,
    ledger_head,
    ledger_postings,
    ledger_transactions,
)
from bitnexus.ledger.values import BalanceMismatch, ChainReport, Proof

CHUNK_BLOCKS = 100  # blocks loaded per round trip while walking the chain
HEADERS_PER_QUERY = 1_000  # a proof's walk over a default checkpoint interval: one trip
HEADER_DIGESTS = 10_000  # header digests remembered by proofs: ten default intervals
_INDEX, _PREVIOUS = BLOCK_FIELDS.index("index"), BLOCK_FIELDS.index("previous_hash")
Progress = Callable[[int, int], None]  # (blocks checked, blocks in all)


def verify_chain(conn: Connection, progress: Progress | None = None) -> ChainReport:
    """Walk every block from genesis, and account for every row of every ledger table:
    nothing lies beyond the head, every transaction is in a chained block, every posting
    in a chained transaction, and every balance is the sum of its chained postings."""
    head = _head(conn)
    checked, bad_block, reason = _walk(conn, 0, head, progress)
    last = conn.execute(sa.select(sa.func.max(ledger_blocks.c.index))).scalar()
    if reason is None and last != head:
        bad_block, reason = last, f"block {last} lies beyond the head (block {head})"
    return ChainReport(
        head=head,
        blocks_checked=checked,
        first_bad_block=bad_block,
        reason=reason,
        balance_mismatches=tuple(balance_mismatches(conn, head)),
        unchained_rows=tuple(unchained_rows(conn, head)),
    )


def verify_tail(conn: Connection, count: int) -> str | None:
    """Why the last ``count`` blocks, the head, or any balance don't verify, or None.

    Cheap enough for every start: the tail fully; the head against the highest block;
    nothing chained beyond the head; each account's balance against the balance after
    its last posting, which must be in a chained transaction (postings are hashed).
    """
    head = _head(conn)
    if count > 0:
        reason = _walk(conn, max(0, head - count + 1), head)[2]
        if reason is not None:
            return reason
    last = conn.execute(sa.select(sa.func.max(ledger_blocks.c.index))).scalar()
    if last != head:
        return f"the head (block {head}) is not the last block ({last})"
    t, p = ledger_transactions, ledger_postings
    chained_max = sa.select(sa.func.max(t.c.id)).where(t.c.block_index <= head).scalar_subquery()
    beyond = conn.execute(
        sa.select(
            sa.select(sa.func.count()).where(t.c.block_index > head).scalar_subquery(),
            sa.select(sa.func.max(p.c.transaction_id)).scalar_subquery(),
            chained_max,
        )
    ).one()
    if beyond[0]:
        return f"{beyond[0]} transaction(s) lie beyond the head"
    if beyond[1] is not None and (beyond[2] is None or beyond[1] > beyond[2]):
        return f"a posting of transaction {beyond[1]} belongs to no chained transaction"
    stale = _stale_balances(conn, head)
    return f"account {stale[0]}: balance differs from its last posting" if stale else None


def verify_transaction(conn: Connection, transaction_id: int) -> Proof | None:
    """A transaction's inclusion proof up to the head, and the verdict on each step."""
    tx = (
        conn.execute(
            sa.select(ledger_transactions).where(ledger_transactions.c.id == transaction_id)
        )
        .mappings()
        .first()
    )
    if tx is None:
        return None
    index = tx["block_index"]
    block = conn.execute(sa.select(ledger_blocks).where(ledger_blocks.c.index == index))
    header = block.mappings().one()
    leaves = list(
        conn.execute(
            sa.select(ledger_transactions.c.hash)
            .where(ledger_transactions.c.block_index == index)
            .order_by(ledger_transactions.c.position)
        ).scalars()
    )
    computed = recomputed_hash(tx, postings_of(conn, [transaction_id])[transaction_id])
    proof = merkle_proof(leaves, tx["position"])
    problems = []
    if computed != tx["hash"]:
        problems.append(f"transaction {transaction_id}: hash does not match its content")
    if root_from_proof(computed, proof) != header["merkle_root"]:
        problems.append(f"block {index}: merkle path does not lead to the merkle_root")
    head = _head(conn)
    checkpoint = next_checkpoint(conn, index)
    end = head if checkpoint is None else checkpoint.index
    link = _link_problem(conn, index, end)
    problems += [link] if link else []
    if checkpoint is not None and _stored_hash(conn, end) != checkpoint.hash:
        problems.append(f"block {end}: hash differs from its signed checkpoint")
    return Proof(
        transaction_id=transaction_id,
        problems=tuple(problems),
        transaction_hash=tx["hash"],
        computed_hash=computed,
        merkle_proof=tuple(MappingProxyType(step) for step in proof),  # read-only
        block=to_block(header),
        head_index=head,
        checkpoint=checkpoint,
    )


def recomputed_hash(tx: Mapping[str, Any], postings: Sequence[Mapping[str, Any]]) -> str:
    content = {field: tx[field] for field in TRANSACTION_FIELDS}
    content["inserted_at"] = iso(tx["inserted_at"])
    return transaction_hash(content, postings)


def balance_mismatches(conn: Connection, head: int) -> list[BalanceMismatch]:
    """Accounts whose stored balance is not the sum of their chained postings."""
    a, p, t = ledger_accounts, ledger_postings, ledger_transactions
    chained = (
        sa.select(p.c.account_id, p.c.amount)
        .join(t, t.c.id == p.c.transaction_id)
        .where(t.c.block_index <= head)
        .subquery()
    )
    total = sa.func.coalesce(sa.func.sum(chained.c.amount), 0)
    query = (
        sa.select(a.c.id, a.c.user_id, a.c.currency, a.c.balance, total.label("postings_sum"))
        .select_from(a.outerjoin(chained, chained.c.account_id == a.c.id))
        .group_by(a.c.id, a.c.user_id, a.c.currency, a.c.balance)
        .having(a.c.balance != total)
        .order_by(a.c.id)
    )
    # PostgreSQL sums BIGINTs as NUMERIC: the sum is an exact whole number, kept an int.
    rows = conn.execute(query).mappings()
    return [BalanceMismatch(**{**row, "postings_sum": int(row["postings_sum"])}) for row in rows]


def unchained_rows(conn: Connection, head: int) -> list[str]:
    """What lies outside the chain: transactions in no block up to the head, postings in
    no such transaction, postings on no account."""
    a, p, t = ledger_accounts, ledger_postings, ledger_transactions
    count = sa.func.count()
    loose_transactions = sa.select(count).where(sa.or_(t.c.block_index > head, t.c.block_index < 0))
    loose_postings = (
        sa.select(count)
        .select_from(p.outerjoin(t, t.c.id == p.c.transaction_id))
        .where(sa.or_(t.c.id.is_(None), t.c.block_index > head))
    )
    no_account = (
        sa.select(count)
        .select_from(p.outerjoin(a, a.c.id == p.c.account_id))
        .where(a.c.id.is_(None))
    )
    found = []
    for query, what in [
        (loose_transactions, "transaction(s) in no chained block"),
        (loose_postings, "posting(s) in no chained transaction"),
        (no_account, "posting(s) on no account"),
    ]:
        n = conn.execute(query).scalar_one()
        if n:
            found.append(f"{n} {what}")
    return found


def _stale_balances(conn: Connection, head: int) -> list[int]:
    """Accounts whose balance is not the balance after their last posting (zero without
    one), or whose last posting is in no chained transaction."""
    a, p, t = ledger_accounts, ledger_postings, ledger_transactions
    last_id = (
        sa.select(sa.func.max(p.c.transaction_id))
        .where(p.c.account_id == a.c.id)
        .correlate(a)
        .scalar_subquery()
    )
    query = (
        sa.select(a.c.id)
        .select_from(
            a.outerjoin(
                p, sa.and_(p.c.account_id == a.c.id, p.c.transaction_id == last_id)
            ).outerjoin(t, t.c.id == p.c.transaction_id)
        )
        .where(
            sa.or_(
                sa.func.coalesce(p.c.balance_after, 0) != a.c.balance,
                sa.and_(
                    p.c.transaction_id.is_not(None),
                    sa.or_(t.c.id.is_(None), t.c.block_index > head),
                ),
            )
        )
        .order_by(a.c.id)
        .limit(10)
    )
    return list(conn.execute(query).scalars())


def _head(conn: Connection) -> int:
    return conn.execute(sa.select(ledger_head.c.block_index)).scalar_one()


def _walk(
    conn: Connection, first: int, last: int, progress: Progress | None = None
) -> tuple[int, int | None, str | None]:
    """Check blocks ``first..last`` fully: (blocks checked, first bad index, reason)."""
    previous = _stored_hash(conn, first - 1) if first > 0 else None
    expected = first
    for block, transactions in _blocks(conn, first, last):
        if progress is not None:
            progress(expected - first + 1, last - first + 1)
        reason = _block_problem(block, transactions, expected, previous)
        if reason is not None:
            return expected - first, expected, f"block {expected}: {reason}"
        previous, expected = block["hash"], expected + 1
    if expected <= last:
        return expected - first, expected, f"block {expected}: missing"
    return expected - first, None, None


def _block_problem(
    block: Mapping[str, Any],
    transactions: Sequence[tuple[RowMapping, list[RowMapping]]],
    expected: int,
    previous: str | None,
) -> str | None:
    if block["index"] != expected:
        return "missing"
    if previous is not None and block["previous_hash"] != previous:
        return "previous_hash does not match the block before"
    if block["transaction_count"] != len(transactions):
        return f"transaction_count is {block['transaction_count']}, found {len(transactions)}"
    hashes = []
    for tx, postings in transactions:
        computed = recomputed_hash(tx, postings)
        if computed != tx["hash"]:
            return f"transaction {tx['id']}: hash does not match its content"
        if sum(p["amount"] for p in postings) != 0:
            return f"transaction {tx['id']}: postings do not sum to zero"
        hashes.append(computed)
    if merkle_root(hashes) != block["merkle_root"]:
        return "merkle_root does not match its transactions"
    if block_hash(block) != block["hash"]:
        return "hash does not match the block header"
    return None


def _link_problem(conn: Connection, first: int, last: int) -> str | None:
    """Headers only, from block ``first`` to ``last``: each hash and each backward link."""
    b = ledger_blocks.c
    previous = None
    for start in range(first, last + 1, HEADERS_PER_QUERY):
        query = (
            sa.select(b.hash, *(b[field] for field in BLOCK_FIELDS))
            .where(b.index.between(start, min(start + HEADERS_PER_QUERY - 1, last)))
            .order_by(b.index)
        )
        for stored, *fields in conn.execute(query).all():  # fetched at once: no per-row call
            if previous is not None and fields[_PREVIOUS] != previous:
                return f"block {fields[_INDEX]}: previous_hash does not match the block before"
            if _header_digest(tuple(fields)) != stored:
                return f"block {fields[_INDEX]}: hash does not match the block header"
            previous = stored
    return None


@functools.lru_cache(maxsize=HEADER_DIGESTS)
def _header_digest(fields: tuple[Any, ...]) -> str:
    """`block_hash` of the header with these BLOCK_FIELDS values, remembered: every proof
    in a checkpoint interval walks the same headers. Keyed by the whole header as read
    now (timestamps come back in UTC: equal keys have one encoding), so a changed header
    is hashed afresh; only the pure function is remembered."""
    return block_hash(hashed_header(dict(zip(BLOCK_FIELDS, fields, strict=True))))


def _blocks(
    conn: Connection, first: int, last: int
) -> Iterator[tuple[dict[str, Any], list[tuple[RowMapping, list[RowMapping]]]]]:
    """Blocks ``first..last`` in order, each with its transactions and their postings."""
    for start in range(first, last + 1, CHUNK_BLOCKS):
        stop = min(start + CHUNK_BLOCKS - 1, last)
        in_range = ledger_transactions.c.block_index.between(start, stop)
        rows = conn.execute(
            sa.select(ledger_transactions)
            .where(in_range)
            .order_by(ledger_transactions.c.block_index, ledger_transactions.c.position)
        ).mappings()
        by_block: dict[int, list[RowMapping]] = defaultdict(list)
        for row in rows:
            by_block[row["block_index"]].append(row)
        postings = postings_of(conn, sa.select(ledger_transactions.c.id).where(in_range))
        for block in _block_rows(conn, start, stop):
            txs = by_block[block["index"]]
            yield block_header(block), [(tx, postings[tx["id"]]) for tx in txs]


def _block_rows(conn: Connection, first: int, last: int) -> Sequence[RowMapping]:
    query = (
        sa.select(ledger_blocks)
        .where(ledger_blocks.c.index.between(first, last))
        .order_by(ledger_blocks.c.index)
    )
    return conn.execute(query).mappings().all()


def _stored_hash(conn: Connection, index: int) -> str | None:
    query = sa.select(ledger_blocks.c.hash).where(ledger_blocks.c.index == index)
    return conn.execute(query).scalar()
