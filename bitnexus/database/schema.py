"""SQLAlchemy Core tables: one `metadata` for the whole application.

Money is stored as integers in the currency's minor units; timestamps are UTC.
Other schema modules (e.g. `bitnexus/ledger/schema.py`) define their tables on this same
`metadata` and must be listed in `SCHEMA_MODULES` so migrations and the drift test see them.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

# Constraint names are deterministic so migrations can refer to them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# Register every module that adds tables to `metadata` here (import path as a string).
SCHEMA_MODULES = ("bitnexus.database.schema", "bitnexus.ledger.schema")


def load_all_schemas() -> sa.MetaData:
    """Import every registered schema module (missing ones skipped) and return `metadata`."""
    for module in SCHEMA_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return metadata


def utcnow() -> datetime:
    """The current time in UTC, truncated to whole seconds like Ecto's :utc_datetime."""
    return datetime.now(UTC).replace(microsecond=0)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Ids are INTEGER columns: a larger value cannot name a row (and PostgreSQL rejects it).
MAX_ID = 2**31 - 1
# BIGINT columns (ledger balances, minor units), and the range of Ecto's :id type that the
# API parses path ids into.
BIGINT_MAX = 2**63 - 1

USER_ROLES = ("user", "affiliate", "admin")
PRODUCT_STATUSES = ("pending", "active", "rejected", "archived")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(160), nullable=False),
    # lower(email), computed in Python so uniqueness is identical on SQLite and PostgreSQL.
    sa.Column("email_key", sa.String(160), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False, server_default="user"),
    sa.Column("inserted_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # Changes when the user's tokens must stop working: role or password change, logout.
    sa.Column("token_generation", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint(_in("role", USER_ROLES), name="role"),
    sqlite_autoincrement=True,  # ids are never reused (PostgreSQL's sequences never are)
)

# Digests of opaque refresh tokens; a login starts a family, each refresh rotates within it.
refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("family", sa.String(32), nullable=False, index=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sqlite_autoincrement=True,
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("category", sa.String(100), nullable=True),
    sa.Column("price_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    # Percent times 100 (basis points): 12.5 % is stored as 1250.
    sa.Column("commission_bp", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column(
        "created_by",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL"),
        nullable=True,
    ),
    # lower(name + "\n" + description), computed in Python, for the `q` filter.
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("inserted_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("price_minor > 0", name="price_positive"),
    sa.CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="commission_range"),
    sa.CheckConstraint(_in("status", PRODUCT_STATUSES), name="status"),
    sqlite_autoincrement=True,
)

# Every listing filter is backed by an index; the trailing id keeps the cursor order cheap.
sa.Index("ix_products_created_by_id", products.c.created_by, products.c.id)
sa.Index("ix_products_status_id", products.c.status, products.c.id)
sa.Index("ix_products_category_id", products.c.category, products.c.id)
# Substring search (LIKE '%q%'): a trigram GIN index on PostgreSQL. SQLite has no index
# type for substring search, so there this is a plain index and the filter scans.
sa.Index(
    "ix_products_search_text",
    products.c.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
)
