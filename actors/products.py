"""The Products service (registered name `products`, a pool): the product catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from actors.service import Service, database_outage_as_unavailable, require_id
from bitnexus.catalog.products import Products as Catalog
from bitnexus.config import Config

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
    id: int


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


class Products(Service):
    """Products over the database. Caches nothing, so a restart is never stale."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._config = config
        self._engine = engine
        self._catalog: Catalog | None = None

    def init(self) -> None:
        self._catalog = Catalog(self._engine, self._config.currencies)

    def handle(self, message: object) -> object:
        catalog = self._catalog
        assert catalog is not None
        with database_outage_as_unavailable():
            match message:
                case ListProducts(params=params, viewer_id=viewer_id):
                    return catalog.list(params, viewer_id)
                case GetProduct(id=product_id):
                    return catalog.get(require_id(product_id, "product"))
                case CreateProduct(attrs=attrs):
                    return catalog.create(attrs)
                case UpdateProduct(id=product_id, attrs=attrs, caller_id=caller_id):
                    return catalog.update(require_id(product_id, "product"), attrs, caller_id)
                case DeleteProduct(id=product_id, caller_id=caller_id):
                    catalog.delete(require_id(product_id, "product"), caller_id)
                    return None
                case ListProductsByUser(user_id=user_id, params=params):
                    user_id = require_id(user_id, "user")
                    return catalog.list({**params, "created_by": user_id})
        return super().handle(message)
