"""Ledger guards: the head only moves forward, TRUNCATE is refused, and a degraded flag
that every writer obeys.

- `ledger_head` may only be updated to the next block index (never deleted).
- TRUNCATE of any ledger table is refused like DELETE (PostgreSQL; SQLite has none).
- `ledger_degraded` (at most one row) is written when a verification finds damage; while
  it holds a row, no block can be inserted, by any process. `bitnexus ledger
  clear-degraded` removes it after verifying the chain again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEDGER_TABLES = (
    "ledger_accounts",
    "ledger_blocks",
    "ledger_head",
    "ledger_postings",
    "ledger_transactions",
)
DEGRADED = "ledger is degraded"  # actors/ledger.py recognises the refusal by this text


def upgrade() -> None:
    op.create_table(
        "ledger_degraded",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_degraded"),
        sa.CheckConstraint("id = 1", name="ck_ledger_degraded_single_row"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in LEDGER_TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER ledger_head_forward ON ledger_head")
        op.execute("DROP TRIGGER ledger_blocks_not_degraded ON ledger_blocks")
        op.execute("DROP FUNCTION ledger_head_forward()")
        op.execute("DROP FUNCTION ledger_not_degraded()")
    else:
        for name in ("ledger_head_no_delete", "ledger_head_forward", "ledger_blocks_not_degraded"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("ledger_degraded")


def _postgresql() -> None:
    op.execute(
        "CREATE FUNCTION ledger_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' OR NEW.id <> OLD.id "
        "OR NEW.block_index <> OLD.block_index + 1 THEN "
        "RAISE EXCEPTION 'ledger_head only moves to the next block: % on ledger_head', TG_OP; "
        "END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER ledger_head_forward BEFORE UPDATE OR DELETE ON ledger_head "
        "FOR EACH ROW EXECUTE FUNCTION ledger_head_forward()"
    )
    op.execute(
        "CREATE FUNCTION ledger_not_degraded() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM ledger_degraded) THEN "
        f"RAISE EXCEPTION '{DEGRADED}: %', (SELECT reason FROM ledger_degraded); "
        "END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER ledger_blocks_not_degraded BEFORE INSERT ON ledger_blocks "
        "FOR EACH ROW EXECUTE FUNCTION ledger_not_degraded()"
    )
    for table in LEDGER_TABLES:  # ledger_append_only() comes from migration 0002
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
        )


def _sqlite() -> None:
    op.execute(
        "CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head "
        "BEGIN SELECT RAISE(ABORT, 'ledger_head only moves to the next block: DELETE'); END"
    )
    op.execute(
        "CREATE TRIGGER ledger_head_forward BEFORE UPDATE ON ledger_head "
        "WHEN NEW.id <> OLD.id OR NEW.block_index <> OLD.block_index + 1 "
        "BEGIN SELECT RAISE(ABORT, 'ledger_head only moves to the next block: UPDATE'); END"
    )
    op.execute(
        "CREATE TRIGGER ledger_blocks_not_degraded BEFORE INSERT ON ledger_blocks "
        "WHEN EXISTS (SELECT 1 FROM ledger_degraded) "
        f"BEGIN SELECT RAISE(ABORT, '{DEGRADED}'); END"
    )
