"""`/transactions`: create (idempotent with `Idempotency-Key`), show, and the caller's list.

Transactions are immutable: there are no update or delete routes (those answer 404).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from actors import transactions
from web import policy, render
from web.auth import caller
from web.calls import timeout
from web.responses import data, page
from web.shape import query, wrapped

blueprint = Blueprint("transactions", __name__, url_prefix="/transactions")

IDEMPOTENCY_HEADER = "idempotency-key"


@blueprint.get("")
def index() -> Response:
    current = caller()
    party = policy.restricted_to(current)  # those they are a party to; admin all
    found = transactions.list_transactions(query(), party_id=party, timeout=timeout())
    return page(found, lambda tx: render.transaction(policy.as_seen_by(current, tx)))


@blueprint.post("")
def create() -> Response:
    attrs = dict(wrapped("transaction"))
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None:
        attrs["idempotency_key"] = key  # the header wins over a field in the body
    tx = transactions.create_transaction(caller().user_id, attrs, timeout=timeout())
    tx = policy.as_seen_by(caller(), tx)
    headers = {"location": f"/api/v1/transactions/{tx.id}"}
    if tx.replayed:
        headers["idempotent-replayed"] = "true"
    return data(render.transaction(tx), 201, headers)


@blueprint.get("/<id:transaction_id>")
def show(transaction_id: int) -> Response:
    tx = transactions.get_transaction(transaction_id, timeout=timeout())
    policy.check_transaction_party(caller(), tx)
    return data(render.transaction(policy.as_seen_by(caller(), tx)))
