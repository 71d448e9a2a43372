"""`/transactions`: create (idempotent with `Idempotency-Key`), show, and the caller's list.

Transactions are immutable: there are no update or delete routes (those answer 404).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from actors import transactions
from web import policy
from web.auth import caller
from web.calls import ask
from web.responses import data, page
from web.shape import query, wrapped

blueprint = Blueprint("transactions", __name__, url_prefix="/transactions")

IDEMPOTENCY_HEADER = "idempotency-key"


@blueprint.get("")
def index() -> Response:
    current = caller()
    party = policy.restricted_to(current)  # those they are a party to; admin all
    reply = ask(transactions.NAME, transactions.ListTransactions(query(), party))
    return page({**reply, "items": [policy.as_seen_by(current, tx) for tx in reply["items"]]})


@blueprint.post("")
def create() -> Response:
    attrs = dict(wrapped("transaction"))
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None:
        attrs["idempotency_key"] = key  # the header wins over a field in the body
    reply = ask(transactions.NAME, transactions.CreateTransaction(caller().user_id, attrs))
    tx = policy.as_seen_by(caller(), reply["transaction"])
    headers = {"location": f"/api/v1/transactions/{tx['id']}"}
    if reply.get("replay"):
        headers["idempotent-replayed"] = "true"
    return data(tx, 201, headers)


@blueprint.get("/<id:transaction_id>")
def show(transaction_id: int) -> Response:
    tx = ask(transactions.NAME, transactions.GetTransaction(transaction_id))
    policy.check_transaction_party(caller(), tx)
    return data(policy.as_seen_by(caller(), tx))
