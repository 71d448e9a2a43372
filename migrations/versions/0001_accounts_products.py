"""Accounts and products.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Trusted extension (PostgreSQL >= 13): a database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(160), nullable=False),
        sa.Column("email_key", sa.String(160), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, server_default="user"),
        sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email_key", name="uq_users_email_key"),
        sa.CheckConstraint("role IN ('user', 'affiliate', 'admin')", name="ck_users_role"),
    )
    op.create_table(
        "products",
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
            ["created_by"],
            ["users.id"],
            name="fk_products_created_by_users",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint("price_minor > 0", name="ck_products_price_positive"),
        sa.CheckConstraint(
            "commission_bp BETWEEN 0 AND 10000", name="ck_products_commission_range"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'rejected', 'archived')", name="ck_products_status"
        ),
    )
    op.create_index("ix_products_created_by_id", "products", ["created_by", "id"])
    op.create_index("ix_products_status_id", "products", ["status", "id"])
    op.create_index("ix_products_category_id", "products", ["category", "id"])
    op.create_index(
        "ix_products_search_text",
        "products",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_products_search_text", table_name="products")
    op.drop_index("ix_products_category_id", table_name="products")
    op.drop_index("ix_products_status_id", table_name="products")
    op.drop_index("ix_products_created_by_id", table_name="products")
    op.drop_table("products")
    op.drop_table("users")
