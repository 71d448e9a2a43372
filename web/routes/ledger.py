"""`/ledger`: a user's history, a block, and the proof that a transaction is in the chain."""

from __future__ import annotations

from flask import Blueprint, Response

from actors import ledger, transactions
from web import policy, render
from web.auth import caller, require_self_or_admin
from web.calls import timeout
from web.responses import data, page
from web.shape import query

blueprint = Blueprint("ledger", __name__, url_prefix="/ledger")


@blueprint.get("/transactions/<id:user_id>")
def history(user_id: int) -> Response:
    require_self_or_admin(user_id)
    filters = query()
    found = ledger.get_history(
        user_id,
        currency=filters.get("currency"),
        limit=filters.get("limit"),
        cursor=filters.get("cursor"),
        timeout=timeout(),
    )
    return page(found, render.posting)


@blueprint.get("/block/<id:index>")
def block(index: int) -> Response:
    return data(render.block(ledger.get_block(index, timeout=timeout())))


@blueprint.get("/verify/<id:transaction_id>")
def verify(transaction_id: int) -> Response:
    tx = transactions.get_transaction(transaction_id, timeout=timeout())
    policy.check_transaction_party(caller(), tx)
    return data(render.proof(ledger.verify(transaction_id, timeout=timeout())))
