"""The ledger's tables on the shared `metadata`.

Money is integer minor units. `ledger_transactions`, `ledger_postings` and
`ledger_blocks` are append-only: migration 0002 adds triggers that reject UPDATE and
DELETE on them, migration 0004 TRUNCATE of every ledger table and any move of the head
but to the next block. `ledger_accounts` carries the one mutable number, each account's balance,
and `ledger_head` is the single row every writer locks to append the next block.
User, product and affiliate ids carry no foreign keys: the journal outlives the rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from bitnexus.database.schema import UTCDateTime, metadata

TRANSACTION_KINDS = ("deposit", "withdrawal", "transfer", "purchase")

ledger_accounts = sa.Table(
    "ledger_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=True),  # NULL: the currency's world account
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
    sa.UniqueConstraint("user_id", "currency"),
    sa.CheckConstraint("user_id IS NULL OR balance >= 0", name="wallet_not_negative"),
)
# UNIQUE treats NULLs as distinct, so the one world account per currency needs its own index.
sa.Index(
    "ix_ledger_accounts_world",
    ledger_accounts.c.currency,
    unique=True,
    postgresql_where=ledger_accounts.c.user_id.is_(None),
    sqlite_where=ledger_accounts.c.user_id.is_(None),
)

ledger_blocks = sa.Table(
    "ledger_blocks",
    metadata,
    sa.Column("index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("previous_hash", sa.String(64), nullable=False),
    sa.Column("merkle_root", sa.String(64), nullable=False),
    sa.Column("timestamp", UTCDateTime(), nullable=False),
    sa.Column("transaction_count", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint('"index" >= 0', name="index_not_negative"),
    sa.CheckConstraint("transaction_count >= 0", name="count_not_negative"),
)

ledger_head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("block_index", sa.BigInteger, sa.ForeignKey("ledger_blocks.index"), nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)

ledger_transactions = sa.Table(
    "ledger_transactions",
    metadata,
    # Assigned by the writer under the head lock: the id is part of the hashed content.
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("block_index", sa.BigInteger, sa.ForeignKey("ledger_blocks.index"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("recipient_id", sa.Integer, nullable=True),
    sa.Column("product_id", sa.Integer, nullable=True),
    sa.Column("affiliate_id", sa.Integer, nullable=True),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    # Digest of the request as the client sent it: tells a replay from a reused key.
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("inserted_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("block_index", "position"),
    sa.UniqueConstraint("user_id", "idempotency_key"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint(
        "kind IN ({})".format(", ".join(f"'{k}'" for k in TRANSACTION_KINDS)), name="kind"
    ),
)

ledger_postings = sa.Table(
    "ledger_postings",
    metadata,
    sa.Column(
        "transaction_id",
        sa.BigInteger,
        sa.ForeignKey("ledger_transactions.id"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
)
# History: one account's postings, newest first, by a transaction-id cursor.
sa.Index(
    "ix_ledger_postings_account_id_transaction_id",
    ledger_postings.c.account_id,
    ledger_postings.c.transaction_id,
)

# At most one row: why a verification found the chain damaged. While it is there, a
# trigger (migration 0004) refuses every new block, from every process.
ledger_degraded = sa.Table(
    "ledger_degraded",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("since", UTCDateTime(), nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)

# Signed heads (bitnexus/ledger/checkpoints.py): append-only (migration 0006).
ledger_checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("block_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("block_hash", sa.String(64), nullable=False),
    sa.Column("signed_at", UTCDateTime(), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)
