"""`/ledger`: a user's history, a block, and the proof that a transaction is in the chain."""

from __future__ import annotations

from flask import Blueprint, Response

from actors import ledger, transactions
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
    message = ledger.History(
        user_id,
        currency=filters.get("currency"),
        limit=filters.get("limit"),
        cursor=filters.get("cursor"),
    )
    reply = ask(ledger.NAME, message)
    current = caller()
    items = [
        {**i, "transaction": policy.as_seen_by(current, i["transaction"])} for i in reply["items"]
    ]
    return page({**reply, "items": items})


@blueprint.get("/block/<id:index>")
def block(index: int) -> Response:
    """The block's public header; of its transactions, only those the caller is a party to."""
    found = ask(ledger.NAME, ledger.GetBlock(index))
    visible = policy.visible_transactions(caller(), found["transactions"])
    return data({**found, "transactions": visible})


@blueprint.get("/verify/<id:transaction_id>")
def verify(transaction_id: int) -> Response:
    tx = ask(transactions.NAME, transactions.GetTransaction(transaction_id))
    policy.check_transaction_party(caller(), tx)
    return data(ask(ledger.NAME, ledger.Verify(transaction_id)))


@blueprint.get("/checkpoints")
def checkpoints() -> Response:
    """The public key and every signed checkpoint: an auditor keeps this document."""
    return data(ask(ledger.NAME, ledger.Checkpoints()))


@blueprint.get("/public-key")
def public_key() -> Response:
    key = ask(ledger.NAME, ledger.Checkpoints())["public_key"]
    return data({"algorithm": "Ed25519", "format": "raw, hex", "public_key": key})
