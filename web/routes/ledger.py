"""`/ledger`: a user's history, a block, and the proof that a transaction is in the chain."""

from __future__ import annotations

from flask import Blueprint, Response

from actors import ledger_readers, transactions
from web import policy
from web.auth import caller, require_self_or_admin
from web.calls import ask
from web.responses import data, page
from web.shape import query

blueprint = Blueprint("ledger", __name__, url_prefix="/ledger")


@blueprint.get("/transactions/<id:user_id>")
def history(user_id: int) -> Response:
    require_self_or_admin(user_id)
    filters = query()
    message = ledger_readers.History(
        user_id,
        currency=filters.get("currency"),
        limit=filters.get("limit"),
        cursor=filters.get("cursor"),
    )
    return page(ask(ledger_readers.NAME, message))


@blueprint.get("/block/<id:index>")
def block(index: int) -> Response:
    return data(ask(ledger_readers.NAME, ledger_readers.GetBlock(index)))


@blueprint.get("/verify/<id:transaction_id>")
def verify(transaction_id: int) -> Response:
    tx = ask(transactions.NAME, transactions.GetTransaction(transaction_id))
    policy.check_transaction_party(caller(), tx)
    return data(ask(ledger_readers.NAME, ledger_readers.Verify(transaction_id)))
