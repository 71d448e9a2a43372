"""`/ledger`: a user's history, a block, the proof that a transaction is in the chain,
and the signed checkpoints that anchor it."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response

from actors import ledger, transactions
from bitnexus.ledger import Posting
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
    current = caller()

    def item(posting: Posting) -> dict:
        assert posting.transaction is not None
        seen = policy.as_seen_by(current, posting.transaction)
        return render.posting(replace(posting, transaction=seen))

    return page(found, item)


@blueprint.get("/block/<id:index>")
def block(index: int) -> Response:
    """The block's public header; of its transactions, only those the caller is a party to."""
    found = ledger.get_block(index, timeout=timeout())
    visible = policy.visible_transactions(caller(), found.transactions)
    return data(render.block(replace(found, transactions=visible)))


@blueprint.get("/verify/<id:transaction_id>")
def verify(transaction_id: int) -> Response:
    tx = transactions.get_transaction(transaction_id, timeout=timeout())
    policy.check_transaction_party(caller(), tx)
    return data(render.proof(ledger.verify(transaction_id, timeout=timeout())))


@blueprint.get("/checkpoints")
def checkpoints() -> Response:
    """The public key and every signed checkpoint: an auditor keeps this document."""
    return data(render.checkpoints(*ledger.list_checkpoints(timeout=timeout())))


@blueprint.get("/public-key")
def public_key() -> Response:
    key, _ = ledger.list_checkpoints(timeout=timeout())
    return data({"algorithm": "Ed25519", "format": "raw, hex", "public_key": key})
