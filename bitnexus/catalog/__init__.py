"""Catalog: products and the rules for who sees and sells them."""

from bitnexus.catalog.products import (
    ACTIVE,
    CATEGORY_MAX,
    COMMISSION_PLACES,
    DEFAULT_CURRENCY,
    DESCRIPTION_MAX,
    NAME_MAX,
    PRICE_LIMIT,
    Product,
    Products,
    visible,
)
from bitnexus.database.schema import PRODUCT_STATUSES

__all__ = [
    "ACTIVE",
    "CATEGORY_MAX",
    "COMMISSION_PLACES",
    "DEFAULT_CURRENCY",
    "DESCRIPTION_MAX",
    "NAME_MAX",
    "PRICE_LIMIT",
    "PRODUCT_STATUSES",
    "Product",
    "Products",
    "visible",
]
