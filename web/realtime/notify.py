"""Events the HTTP layer publishes after a service has committed a change."""

from __future__ import annotations

from actors import pubsub
from bitnexus.catalog import Product


def product_status_changed(product: Product) -> None:
    """To the product's vendor on `notification:<vendor_id>`."""
    payload = {"product_id": product.id, "status": product.status}
    pubsub.broadcast(f"notification:{product.created_by}", "product_status_changed", payload)
