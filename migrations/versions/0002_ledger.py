"""The ledger: accounts with balances, blocks, transactions, postings, the chain head.

Triggers make transactions, postings and blocks append-only on both databases; a
correction is a new transaction. (TRUNCATE is left to the owner, as for any table.)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ledger_blocks", "ledger_transactions", "ledger_postings")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.UniqueConstraint("user_id", "currency", name="uq_ledger_accounts_user_id_currency"),
        sa.CheckConstraint(
            "user_id IS NULL OR balance >= 0", name="ck_ledger_accounts_wallet_not_negative"
        ),
    )
    op.create_index(
        "ix_ledger_accounts_world",
        "ledger_accounts",
        ["currency"],
        unique=True,
        postgresql_where=sa.text("user_id IS NULL"),
        sqlite_where=sa.text("user_id IS NULL"),
    )
    op.create_table(
        "ledger_blocks",
        sa.Column("index", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("merkle_root", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_count", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("index", name="pk_ledger_blocks"),
        sa.CheckConstraint('"index" >= 0', name="ck_ledger_blocks_index_not_negative"),
        sa.CheckConstraint("transaction_count >= 0", name="ck_ledger_blocks_count_not_negative"),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("block_index", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_head"),
        sa.ForeignKeyConstraint(
            ["block_index"],
            ["ledger_blocks.index"],
            name="fk_ledger_head_block_index_ledger_blocks",
        ),
        sa.CheckConstraint("id = 1", name="ck_ledger_head_single_row"),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("block_index", sa.BigInteger, nullable=False),
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
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_transactions"),
        sa.ForeignKeyConstraint(
            ["block_index"],
            ["ledger_blocks.index"],
            name="fk_ledger_transactions_block_index_ledger_blocks",
        ),
        sa.UniqueConstraint(
            "block_index", "position", name="uq_ledger_transactions_block_index_position"
        ),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name="uq_ledger_transactions_user_id_idempotency_key"
        ),
        sa.CheckConstraint("amount > 0", name="ck_ledger_transactions_amount_positive"),
        sa.CheckConstraint(
            "kind IN ('deposit', 'withdrawal', 'transfer', 'purchase')",
            name="ck_ledger_transactions_kind",
        ),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("transaction_id", sa.BigInteger, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", "position", name="pk_ledger_postings"),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name="fk_ledger_postings_transaction_id_ledger_transactions",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name="fk_ledger_postings_account_id_ledger_accounts",
        ),
        sa.CheckConstraint("amount <> 0", name="ck_ledger_postings_amount_not_zero"),
    )
    op.create_index(
        "ix_ledger_postings_account_id_transaction_id",
        "ledger_postings",
        ["account_id", "transaction_id"],
    )
    _create_append_only_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    _drop_append_only_triggers(op.get_bind().dialect.name)
    op.drop_index("ix_ledger_postings_account_id_transaction_id", table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_table("ledger_transactions")
    op.drop_table("ledger_head")
    op.drop_table("ledger_blocks")
    op.drop_index("ix_ledger_accounts_world", table_name="ledger_accounts")
    op.drop_table("ledger_accounts")


def _create_append_only_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'ledger rows are immutable: % on %', TG_OP, TG_TABLE_NAME; "
            "END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable: {action} on {table}'); END"
            )


def _drop_append_only_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION ledger_append_only()")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{action}")
