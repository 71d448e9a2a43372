"""The Products service (registered name `products`, a pool): the product catalog.

The client functions at the end are its API, as an OTP module exports one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from actors.client import ask, every
from actors.service import Service, database_outage_as_unavailable, require_id
from bitnexus.catalog import Product
from bitnexus.catalog import Products as Catalog
from bitnexus.common.pagination import Page
from bitnexus.config import Config
from bitnexus.database.held import HeldReads

NAME = "products"


@dataclass(frozen=True)
class ListProducts:
    """Filters `created_by`, `status`, `category`, `q`; paging by `limit` and `cursor`.

    With `viewer_id` (a caller who is not an admin) only active products and the viewer's
    own are listed; the filters narrow that further.
    """

    params: Mapping[str, object] = field(default_factory=dict)
    viewer_id: int | None = None


@dataclass(frozen=True)
class GetProduct:
    """``viewer_id`` set (a caller who is not an admin): NotFound unless they may see it."""

    id: int
    viewer_id: int | None = None


@dataclass(frozen=True)
class CreateProduct:
    attrs: Mapping[Any, object]


@dataclass(frozen=True)
class UpdateProduct:
    """``caller_id`` set (a caller who is not an admin): only their own product, and never
    its `status` or `created_by` (Forbidden); one they cannot see is NotFound. Checked in
    the transaction that writes, so ownership cannot change in between."""

    id: int
    attrs: Mapping[Any, object]
    caller_id: int | None = None


@dataclass(frozen=True)
class DeleteProduct:
    """``caller_id`` as for UpdateProduct."""

    id: int
    caller_id: int | None = None


@dataclass(frozen=True)
class ListProductsByUser:
    """A vendor's products (a page, like ListProducts with `created_by`)."""

    user_id: int
    params: Mapping[str, object] = field(default_factory=dict)
    viewer_id: int | None = None


class Products(Service):
    """Products over the database. Caches nothing, so a restart is never stale."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._config = config
        self._engine = engine
        self._catalog: Catalog | None = None
        self._reads = HeldReads(engine)

    def init(self) -> None:
        self._catalog = Catalog(self._engine, self._config.currencies, self._reads.reading)

    def terminate(self) -> None:
        self._reads.close()

    def handle(self, message: object) -> object:
        catalog = self._catalog
        assert catalog is not None
        with database_outage_as_unavailable():
            match message:
                case ListProducts(params=params, viewer_id=viewer_id):
                    return catalog.list(params, viewer_id)
                case GetProduct(id=product_id, viewer_id=viewer_id):
                    return catalog.get(require_id(product_id, "product"), viewer_id)
                case CreateProduct(attrs=attrs):
                    return catalog.create(attrs)
                case UpdateProduct(id=product_id, attrs=attrs, caller_id=caller_id):
                    return catalog.update(require_id(product_id, "product"), attrs, caller_id)
                case DeleteProduct(id=product_id, caller_id=caller_id):
                    catalog.delete(require_id(product_id, "product"), caller_id)
                    return None
                case ListProductsByUser(user_id=user_id, params=params, viewer_id=viewer_id):
                    user_id = require_id(user_id, "user")
                    return catalog.list({**params, "created_by": user_id}, viewer_id)
        return super().handle(message)


# ---------------------------------------------------------------- client functions
# Each waits `timeout` seconds (default: the configured call timeout) and raises the
# domain's error (ValidationFailed, NotFound, Forbidden) or the runtime's.
# ``viewer_id`` / ``by``: the caller when they are not an admin (None: no restriction).


def create_product(
    attrs: Mapping[str, object], created_by: int | None, *, timeout: float | None = None
) -> Product:
    """A new product of the vendor ``created_by`` (status `pending` unless given)."""
    return ask(NAME, CreateProduct({**attrs, "created_by": created_by}), timeout)


def get_product(
    product_id: int, *, viewer_id: int | None = None, timeout: float | None = None
) -> Product:
    return ask(NAME, GetProduct(product_id, viewer_id), timeout)


def update_product(
    product_id: int,
    attrs: Mapping[str, object],
    by: int | None = None,
    *,
    timeout: float | None = None,
) -> Product:
    """Change a product; ``by`` (a vendor) may change only their own, never its status."""
    return ask(NAME, UpdateProduct(product_id, attrs, by), timeout)


def delete_product(product_id: int, by: int | None = None, *, timeout: float | None = None) -> None:
    ask(NAME, DeleteProduct(product_id, by), timeout)


def list_products(
    params: Mapping[str, object] | None = None,
    /,
    *,
    viewer_id: int | None = None,
    timeout: float | None = None,
    **filters: object,
) -> Page[Product]:
    """Filters `created_by`, `status`, `category`, `q`; paging by `limit` and `cursor`;
    as keywords or as a mapping (a request's query parameters)."""
    return ask(NAME, ListProducts({**(params or {}), **filters}, viewer_id), timeout)


def list_products_by_user(user_id: int, *, timeout: float | None = None) -> list[Product]:
    """Every product of the vendor, page after page."""
    return every(lambda params: page_products_by_user(user_id, params, timeout=timeout))


def page_products_by_user(
    user_id: int,
    params: Mapping[str, object],
    *,
    viewer_id: int | None = None,
    timeout: float | None = None,
) -> Page[Product]:
    """One page of the vendor's products, filtered by `params` as `list_products` is."""
    return ask(NAME, ListProductsByUser(user_id, params, viewer_id), timeout)
