"""`/users`: Phoenix's resources routes, plus a vendor's products and a user's balances."""

from __future__ import annotations

from flask import Blueprint, Response

from actors import accounts, ledger_readers
from web import policy
from web.auth import caller, require_admin, require_self_or_admin
from web.calls import ask
from web.responses import created, data, no_content, page
from web.shape import query, wrapped

blueprint = Blueprint("users", __name__, url_prefix="/users")


@blueprint.get("")
def index() -> Response:
    require_admin()
    return page(ask(accounts.NAME, accounts.ListUsers(query())))


@blueprint.post("")
def create() -> Response:
    require_admin()
    user = ask(accounts.NAME, accounts.CreateUser(wrapped("user")))
    return created(user, f"/api/v1/users/{user['id']}")


@blueprint.get("/<id:user_id>")
def show(user_id: int) -> Response:
    require_self_or_admin(user_id)
    return data(ask(accounts.NAME, accounts.GetUser(user_id)))


@blueprint.route("/<id:user_id>", methods=["PATCH", "PUT"])
def update(user_id: int) -> Response:
    require_self_or_admin(user_id)
    attrs = wrapped("user")
    policy.check_role_change(caller(), attrs)
    return data(ask(accounts.NAME, accounts.UpdateUser(user_id, attrs)))


@blueprint.delete("/<id:user_id>")
def delete(user_id: int) -> Response:
    require_self_or_admin(user_id)
    ask(accounts.NAME, accounts.DeleteUser(user_id))
    return no_content()


@blueprint.get("/<id:user_id>/products")
def products(user_id: int) -> Response:
    filters: dict[str, str] | None = query()
    current = caller()
    if not (current.is_admin or current.is_self(user_id)):
        filters = policy.product_filters(current, {**filters, "created_by": str(user_id)})
    if filters is None:
        return page({"items": [], "next_cursor": None})
    return page(ask(accounts.NAME, accounts.GetUserProducts(user_id, filters)))


@blueprint.get("/<id:user_id>/balances")
def balances(user_id: int) -> Response:
    require_self_or_admin(user_id)
    # Found by drill 7: a deleted user's token still read zero balances here. Like any
    # /users/:id route, a user that is gone is 404.
    ask(accounts.NAME, accounts.GetUser(user_id))
    reply = ask(ledger_readers.NAME, ledger_readers.Balances(user_id))
    return data([{"currency": code, "balance": amount} for code, amount in reply.items()])
