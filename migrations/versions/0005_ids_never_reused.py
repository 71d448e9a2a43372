"""Ids are never reused on SQLite: users and products get AUTOINCREMENT.

Without it SQLite hands out max(id) + 1, so deleting the newest row frees its id for
the next one, and whatever still names it (a token, ledger history) names the newcomer.
PostgreSQL's sequences never go back; there this migration does nothing. The tables are
rebuilt with foreign keys off (migrations/env.py), so no ON DELETE action fires.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _users(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(160), nullable=False),
        sa.Column("email_key", sa.String(160), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, server_default="user"),
        sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_generation", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email_key", name="uq_users_email_key"),
        sa.CheckConstraint("role IN ('user', 'affiliate', 'admin')", name="ck_users_role"),
        sqlite_autoincrement=True,
    )


def _products(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("price_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("commission_bp", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_by", sa.Integer, nullable=True),
        sa.Column("search_text", sa.Text, nullable=False, server_default=""),
        sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_products_created_by_users", ondelete="SET NULL"
        ),
        sa.CheckConstraint("price_minor > 0", name="ck_products_price_positive"),
        sa.CheckConstraint(
            "commission_bp BETWEEN 0 AND 10000", name="ck_products_commission_range"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'rejected', 'archived')", name="ck_products_status"
        ),
        sqlite_autoincrement=True,
    )


PRODUCT_INDEXES = {
    "ix_products_created_by_id": ["created_by", "id"],
    "ix_products_status_id": ["status", "id"],
    "ix_products_category_id": ["category", "id"],
    "ix_products_search_text": ["search_text"],
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, define in (("users", _users), ("products", _products)):
        metadata = sa.MetaData()
        if table == "products":  # the foreign key's target, only for the DDL to name it
            sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True))
        new = define(metadata, f"{table}_autoincrement")
        new.create(bind)
        columns = ", ".join(c.name for c in new.columns)
        op.execute(f"INSERT INTO {new.name} ({columns}) SELECT {columns} FROM {table}")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {new.name} RENAME TO {table}")  # its sequence goes along
    for name, columns in PRODUCT_INDEXES.items():
        op.create_index(name, "products", columns)


def downgrade() -> None:
    """Nothing to undo that matters: AUTOINCREMENT only stops ids coming back."""
