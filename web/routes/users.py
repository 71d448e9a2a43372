"""`/users`: Phoenix's resources routes, plus a vendor's products and a user's balances."""

from __future__ import annotations

from flask import Blueprint, Response

from actors import accounts, ledger
from web import policy, render
from web.auth import caller, require_admin, require_self_or_admin
from web.calls import timeout
from web.responses import created, data, no_content, page
from web.shape import query, wrapped

blueprint = Blueprint("users", __name__, url_prefix="/users")


@blueprint.get("")
def index() -> Response:
    require_admin()
    return page(accounts.list_users(query(), timeout=timeout()), render.user)


@blueprint.post("")
def create() -> Response:
    require_admin()
    user = accounts.create_user(wrapped("user"), timeout=timeout())
    return created(render.user(user), f"/api/v1/users/{user.id}")


@blueprint.get("/<id:user_id>")
def show(user_id: int) -> Response:
    require_self_or_admin(user_id)
    return data(render.user(accounts.get_user(user_id, timeout=timeout())))


@blueprint.route("/<id:user_id>", methods=["PATCH", "PUT"])
def update(user_id: int) -> Response:
    require_self_or_admin(user_id)
    attrs = wrapped("user")
    policy.check_role_change(caller(), attrs)
    return data(render.user(accounts.update_user(user_id, attrs, timeout=timeout())))


@blueprint.delete("/<id:user_id>")
def delete(user_id: int) -> Response:
    require_self_or_admin(user_id)
    accounts.delete_user(user_id, timeout=timeout())
    return no_content()


@blueprint.get("/<id:user_id>/products")
def products(user_id: int) -> Response:
    viewer = policy.restricted_to(caller())  # another vendor's products: the active ones
    found = accounts.page_user_products(user_id, query(), viewer_id=viewer, timeout=timeout())
    return page(found, render.product)


@blueprint.get("/<id:user_id>/balances")
def balances(user_id: int) -> Response:
    require_self_or_admin(user_id)
    # Like any /users/:id route, a user that is gone is 404. The caller's own row was read
    # by the token check in this request, so only someone else's needs looking up.
    if not caller().is_self(user_id):
        accounts.get_user(user_id, timeout=timeout())
    return data(render.balances(ledger.balances(user_id, timeout=timeout())))
