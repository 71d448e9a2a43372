"""`/products`: Phoenix's resources routes over the Products service."""

from __future__ import annotations

from flask import Blueprint, Response

from actors import products
from web import policy
from web.auth import caller
from web.calls import ask
from web.realtime import notify
from web.responses import created, data, no_content, page
from web.shape import query, wrapped

blueprint = Blueprint("products", __name__, url_prefix="/products")


@blueprint.get("")
def index() -> Response:
    viewer = policy.restricted_to(caller())  # active products and their own; admin all
    return page(ask(products.NAME, products.ListProducts(query(), viewer)))


@blueprint.post("")
def create() -> Response:
    attrs = dict(wrapped("product"))
    current = caller()
    attrs["created_by"] = current.user_id  # the vendor is whoever creates it
    if not current.is_admin:
        attrs.pop("status", None)  # a vendor's product starts pending
    product = ask(products.NAME, products.CreateProduct(attrs))
    return created(product, f"/api/v1/products/{product['id']}")


@blueprint.get("/<id:product_id>")
def show(product_id: int) -> Response:
    product = ask(products.NAME, products.GetProduct(product_id))
    policy.check_product_visible(caller(), product)
    return data(product)


@blueprint.route("/<id:product_id>", methods=["PATCH", "PUT"])
def update(product_id: int) -> Response:
    attrs = wrapped("product")
    vendor = policy.restricted_to(caller())  # the service checks ownership as it writes
    product = ask(products.NAME, products.UpdateProduct(product_id, attrs, vendor))
    if vendor is None and "status" in attrs and product.get("created_by") is not None:
        notify.product_status_changed(product)  # an admin set it: tell the vendor
    return data(product)


@blueprint.delete("/<id:product_id>")
def delete(product_id: int) -> Response:
    ask(products.NAME, products.DeleteProduct(product_id, policy.restricted_to(caller())))
    return no_content()
