"""`/products`: Phoenix's resources routes over the Products service."""

from __future__ import annotations

from flask import Blueprint, Response

from actors import products
from web import policy, render
from web.auth import caller
from web.calls import timeout
from web.responses import created, data, no_content, page
from web.shape import query, wrapped

blueprint = Blueprint("products", __name__, url_prefix="/products")


@blueprint.get("")
def index() -> Response:
    viewer = policy.restricted_to(caller())  # active products and their own; admin all
    found = products.list_products(query(), viewer_id=viewer, timeout=timeout())
    return page(found, render.product)


@blueprint.post("")
def create() -> Response:
    attrs = dict(wrapped("product"))
    current = caller()
    if not current.is_admin:
        attrs.pop("status", None)  # a vendor's product starts pending
    # The vendor is whoever creates it.
    product = products.create_product(attrs, current.user_id, timeout=timeout())
    return created(render.product(product), f"/api/v1/products/{product.id}")


@blueprint.get("/<id:product_id>")
def show(product_id: int) -> Response:
    viewer = policy.restricted_to(caller())  # an invisible product is not found
    return data(
        render.product(products.get_product(product_id, viewer_id=viewer, timeout=timeout()))
    )


@blueprint.route("/<id:product_id>", methods=["PATCH", "PUT"])
def update(product_id: int) -> Response:
    attrs = wrapped("product")
    vendor = policy.restricted_to(caller())  # the service checks ownership as it writes
    return data(
        render.product(products.update_product(product_id, attrs, vendor, timeout=timeout()))
    )


@blueprint.delete("/<id:product_id>")
def delete(product_id: int) -> Response:
    products.delete_product(product_id, policy.restricted_to(caller()), timeout=timeout())
    return no_content()
