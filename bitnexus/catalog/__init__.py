"""Catalog: products and the rules for who sees and sells them."""

from bitnexus.catalog.products import (
    ACTIVE,
    COMMISSION_PLACES,
    PRICE_LIMIT,
    Product,
    Products,
    visible,
)
from bitnexus.database.schema import PRODUCT_STATUSES

__all__ = [
    "ACTIVE",
    "COMMISSION_PLACES",
    "PRICE_LIMIT",
    "PRODUCT_STATUSES",
    "Product",
    "Products",
    "visible",
]
