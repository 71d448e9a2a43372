"""Signed checkpoints of the ledger's chain: append-only like the chain itself.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoints",
        sa.Column("block_index", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("block_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("block_index", name="pk_ledger_checkpoints"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE "
            "ON ledger_checkpoints FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_checkpoints_no_{action.lower()} BEFORE {action} "
            "ON ledger_checkpoints BEGIN SELECT RAISE(ABORT, "
            f"'ledger rows are immutable: {action} on ledger_checkpoints'); END"
        )


def downgrade() -> None:
    op.drop_table("ledger_checkpoints")  # its triggers go with it
