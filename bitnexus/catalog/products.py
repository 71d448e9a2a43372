"""Products: the `Product` value, who sees one, validation rules, money conversion and
queries behind the Products service."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from bitnexus.common.changeset import (
    DOES_NOT_EXIST,
    Changeset,
    cast_decimal,
    cast_integer,
    cast_string,
    enum_caster,
)
from bitnexus.common.errors import Forbidden, NotFound, ValidationFailed
from bitnexus.common.money import from_minor, to_minor
from bitnexus.common.pagination import Page, page, page_request
from bitnexus.database.engine import Reading
from bitnexus.database.schema import MAX_ID, PRODUCT_STATUSES, products, users, utcnow

NAME_MAX = 200
DESCRIPTION_MAX = 5000
CATEGORY_MAX = 100
PRICE_LIMIT = 10_000_000_000  # exclusive; keeps minor units within 64 bits at 8 places
COMMISSION_PLACES = 2
CURSOR_KIND = "products"
ACTIVE = "active"  # the status that makes a product public, and the one that can be bought
VENDOR_LOCKED_FIELDS = ("status", "created_by")  # only an admin changes these
DEFAULT_CURRENCY = "EUR"
_DEFAULTS: Mapping[str, object] = {
    "currency": DEFAULT_CURRENCY,
    "commission_rate": Decimal(0),
    "status": "pending",
}
_FIELDS: Mapping[str, Callable[[object], object]] = {
    "name": cast_string,
    "description": cast_string,
    "category": cast_string,
    "price": cast_decimal,
    "currency": cast_string,
    "commission_rate": cast_decimal,
    "status": enum_caster(PRODUCT_STATUSES),
    "created_by": cast_integer,
}


def search_text(name: str, description: str | None) -> str:
    """What the `q` filter matches against: name and description, lower-cased."""
    return f"{name}\n{description or ''}".lower()


@dataclass(frozen=True)
class Product:
    """A product as the services answer it; `price` in its currency's places."""

    id: int
    name: str
    description: str | None
    category: str | None
    price: Decimal
    currency: str
    commission_rate: Decimal  # percent of the price paid to the affiliate
    status: str
    created_by: int | None  # the vendor; None once the vendor is deleted
    inserted_at: datetime
    updated_at: datetime


# What a `Product` is read from, in its fields' order; `search_text` is only searched.
# Rows are read as tuples: unpacking one costs a fraction of eleven lookups by name.
COLUMNS = tuple(products.c[name] for name in (
    "id", "name", "description", "category", "price_minor", "currency", "commission_bp",
    "status", "created_by", "inserted_at", "updated_at",
))  # fmt: skip


def to_product(row: Sequence[Any], currencies: Mapping[str, int]) -> Product:
    """A stored row of `COLUMNS` as a `Product`: its minor-unit amounts as decimals."""
    (id_, name, description, category, price_minor, currency, commission_bp, status,
     created_by, inserted_at, updated_at) = row  # fmt: skip
    return Product(
        id_,
        name,
        description,
        category,
        from_minor(price_minor, currencies.get(currency, 2)),
        currency,
        from_minor(commission_bp, COMMISSION_PLACES),
        status,
        created_by,
        inserted_at,
        updated_at,
    )


# Who sees a product: active products are public, the others only their vendor's (and
# an admin's, who is no viewer: `viewer_id` None). In Python and as SQL, side by side.


def visible(product: Product, viewer_id: int | None) -> bool:
    return viewer_id is None or product.status == ACTIVE or product.created_by == viewer_id


def _visible_clause(viewer: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    return sa.or_(products.c.status == ACTIVE, products.c.created_by == viewer)


def changeset(
    params: Mapping[Any, object], data: Mapping[str, object], currencies: Mapping[str, int]
) -> Changeset:
    """Cast and validate product params over `data` (defaults for a new product)."""
    cs = Changeset(params, data)
    for field, caster in _FIELDS.items():
        cs.cast(field, caster)
    cs.validate_required("name", "price", "currency", "commission_rate", "status")
    if not data.get("id"):
        # Only on create: a vendor's deletion nulls created_by, which must not block updates.
        cs.validate_required("created_by")
    cs.validate_length("name", min=1, max=NAME_MAX)
    cs.validate_length("description", max=DESCRIPTION_MAX)
    cs.validate_length("category", max=CATEGORY_MAX)
    cs.validate_inclusion("currency", currencies)
    cs.validate_number("price", greater_than=0, less_than=PRICE_LIMIT)
    currency = cs.get("currency")
    if "currency" not in cs.errors and isinstance(currency, str) and currency in currencies:
        # A new currency re-checks the existing price against its decimal places.
        cs.validate_decimal_places("price", currencies[currency], always="currency" in cs.changes)
    cs.validate_number("commission_rate", greater_than_or_equal_to=0, less_than_or_equal_to=100)
    cs.validate_decimal_places("commission_rate", COMMISSION_PLACES)
    return cs


def row_values(cs: Changeset, currencies: Mapping[str, int]) -> dict[str, object]:
    """Column values for the changed fields of a valid changeset."""
    values: dict[str, object] = {}
    for field in ("name", "description", "category", "currency", "status", "created_by"):
        if field in cs.changes:
            values[field] = cs.changes[field]
    if "price" in cs.changes or "currency" in cs.changes:
        price = cs.get("price")
        assert isinstance(price, Decimal)
        values["price_minor"] = to_minor(price, currencies[str(cs.get("currency"))])
    if "commission_rate" in cs.changes:
        rate = cs.changes["commission_rate"]
        assert isinstance(rate, Decimal)
        values["commission_bp"] = to_minor(rate, COMMISSION_PLACES)
    if "name" in cs.changes or "description" in cs.changes:
        values["search_text"] = search_text(str(cs.get("name")), _opt_str(cs.get("description")))
    return values


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Products:
    """Product records over `engine`; raises the domain's errors for expected outcomes.
    Reads of one statement take their connection from ``reads``."""

    def __init__(self, engine: Engine, currencies: Mapping[str, int], reads: Reading) -> None:
        self._engine = engine
        self._currencies = currencies
        self._reads = reads

    def list(self, params: Mapping[str, object], viewer_id: int | None = None) -> Page[Product]:
        """Filters `created_by`, `status`, `category`, `q`; pages by `limit` and `cursor`.

        A `viewer_id` sees only active products and their own, whatever the filters.
        """
        cs = Changeset(params, {})
        cs.cast("created_by", cast_integer).cast("status", enum_caster(PRODUCT_STATUSES))
        cs.cast("category", cast_string).cast("q", cast_string)
        request = page_request(cs, CURSOR_KIND)
        if not cs.valid:
            raise ValidationFailed(cs.errors)
        values: dict[str, object] = {"after": request.after, "limit": request.limit + 1}
        if viewer_id is not None:
            values["viewer"] = _vendor_key(viewer_id)
        if isinstance(vendor := cs.changes.get("created_by"), int):
            values["created_by"] = _vendor_key(vendor)
        for field in ("status", "category"):
            if cs.changes.get(field) is not None:
                values[field] = cs.changes[field]
        if cs.changes.get("q") is not None:
            values["q"] = f"%{escape_like(str(cs.changes['q']).strip().lower())}%"
        query = _index_query(frozenset(values))
        with self._reads() as conn:
            rows = conn.execute(query, values).all()
        return page(CURSOR_KIND, rows, request.limit, self._products, key=0)  # COLUMNS: id first

    def get(self, product_id: int, viewer_id: int | None = None) -> Product:
        """The product; NotFound also when `viewer_id` may not see it."""
        with self._reads() as conn:
            product = self._product(self._fetch(conn, product_id))
        if not visible(product, viewer_id):
            raise NotFound(f"product {product_id}")
        return product

    def create(self, params: Mapping[Any, object]) -> Product:
        cs = changeset(params, _DEFAULTS, self._currencies)
        if not cs.valid:
            raise ValidationFailed(cs.errors)
        values = row_values(cs, self._currencies)
        values.setdefault("currency", cs.get("currency"))
        values.setdefault("status", cs.get("status"))
        values.setdefault("commission_bp", 0)
        values["inserted_at"] = values["updated_at"] = utcnow()
        with existing_vendor(), self._engine.begin() as conn:
            self._check_vendor(conn, values.get("created_by"))
            query = products.insert().values(values).returning(*COLUMNS)
            row = conn.execute(query).one()
        return self._product(row)

    def update(
        self, product_id: int, params: Mapping[Any, object], caller_id: int | None = None
    ) -> Product:
        # Read, validate and write in one transaction: the new price and currency are
        # checked against each other, so neither may change underneath us.
        with existing_vendor(), self._engine.begin() as conn:
            current = self._product(self._fetch(conn, product_id, for_update=True))
            if caller_id is not None:
                _check_owner(current, caller_id)
                if any(f in params for f in VENDOR_LOCKED_FIELDS):
                    raise Forbidden(f"product {product_id}: {VENDOR_LOCKED_FIELDS}")
            cs = changeset(params, dataclasses.asdict(current), self._currencies)
            if not cs.valid:
                raise ValidationFailed(cs.errors)
            values = row_values(cs, self._currencies)
            if not values:
                return current  # nothing changed: Ecto leaves updated_at alone
            if "created_by" in values:
                self._check_vendor(conn, values["created_by"])
            if "price_minor" in values and current.status == ACTIVE:
                # A buyer must not be charged a price nobody approved: review it again.
                values.setdefault("status", "pending")
            values["updated_at"] = utcnow()
            query = (
                products.update()
                .where(products.c.id == product_id)
                .values(values)
                .returning(*COLUMNS)
            )
            row = conn.execute(query).one()
        return self._product(row)

    def delete(self, product_id: int, caller_id: int | None = None) -> None:
        with self._engine.begin() as conn:
            if caller_id is not None:
                row = self._fetch(conn, product_id, for_update=True)
                _check_owner(self._product(row), caller_id)
            deleted = conn.execute(products.delete().where(products.c.id == product_id))
        if deleted.rowcount == 0:
            raise NotFound(f"product {product_id}")

    def _product(self, row: Sequence[Any]) -> Product:
        return to_product(row, self._currencies)

    def _products(self, rows: Sequence[Sequence[Any]]) -> list[Product]:
        return [self._product(row) for row in rows]

    @staticmethod
    def _fetch(conn: Connection, product_id: int, *, for_update: bool = False) -> Row[Any]:
        query = sa.select(*COLUMNS).where(products.c.id == product_id)
        if for_update:
            query = query.with_for_update()  # no-op on SQLite, where BEGIN IMMEDIATE locks
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"product {product_id}")
        return row

    @staticmethod
    def _check_vendor(conn: Connection, user_id: object) -> None:
        """Ecto's foreign_key_constraint message, checked up front for a clean reply."""
        if user_id is None:
            return
        if not isinstance(user_id, int) or not 0 < user_id <= MAX_ID:
            raise ValidationFailed({"created_by": [DOES_NOT_EXIST]})
        query = sa.select(users.c.id).where(users.c.id == user_id)
        if conn.execute(query).first() is None:
            raise ValidationFailed({"created_by": [DOES_NOT_EXIST]})


def _check_owner(product: Product, caller_id: int) -> None:
    """A product the caller cannot see is not found; one they can but do not own, forbidden."""
    if product.created_by == caller_id:
        return
    if not visible(product, caller_id):
        raise NotFound(f"product {product.id}")
    raise Forbidden(f"product {product.id}")


def _vendor_key(user_id: object) -> int:
    """The id to match `created_by` against: ids start at 1, so 0 matches no vendor, and
    unlike an id past INTEGER (or a null filter) PostgreSQL accepts it."""
    return user_id if type(user_id) is int and 0 < user_id <= MAX_ID else 0


@functools.cache
def _index_query(filters: frozenset[str]) -> sa.Select[Any]:
    """The index's statement for one combination of filters, built once: building a
    statement costs about as much CPU as running it. Values are bound by name."""
    query = sa.select(*COLUMNS).where(products.c.id > sa.bindparam("after"))
    if "viewer" in filters:
        query = query.where(_visible_clause(sa.bindparam("viewer")))
    for field in ("created_by", "status", "category"):
        if field in filters:
            query = query.where(products.c[field] == sa.bindparam(field))
    if "q" in filters:
        query = query.where(products.c.search_text.like(sa.bindparam("q"), escape="\\"))
    return query.order_by(products.c.id).limit(sa.bindparam("limit"))


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so `q` matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@contextmanager
def existing_vendor() -> Iterator[None]:
    """The vendor deleted between check and insert: the foreign key says "does not exist"."""
    try:
        yield
    except IntegrityError as exc:
        text = str(exc.orig)
        if "fk_products_created_by_users" in text or "FOREIGN KEY constraint failed" in text:
            raise ValidationFailed({"created_by": [DOES_NOT_EXIST]}) from exc
        raise
