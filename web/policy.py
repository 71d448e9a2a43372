"""Who may see and change what: access rules keyed on the caller's identity and role.

Field values are never checked here (the services do that). Ownership of a product being
changed is checked by the Products service in the transaction that writes: web passes
the caller (`restricted_to`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.exceptions import Forbidden, NotFound

from web.auth import Caller


def can_see_product(caller: Caller, product: Mapping[str, Any]) -> bool:
    """Active products are public; others only to their vendor and admins."""
    return (
        product.get("status") == "active"
        or caller.is_admin
        or caller.is_self(product.get("created_by"))
    )


def check_product_visible(caller: Caller, product: Mapping[str, Any]) -> None:
    if not can_see_product(caller, product):
        raise NotFound()  # an invisible product is indistinguishable from a missing one


def restricted_to(caller: Caller) -> int | None:
    """The caller's id for a service that limits a non-admin to their own; None: admin."""
    return None if caller.is_admin else caller.user_id


def check_role_change(caller: Caller, attrs: Mapping[str, Any]) -> None:
    """Only an admin changes a role."""
    if "role" in attrs and not caller.is_admin:
        raise Forbidden()


def check_self_registration(attrs: Mapping[str, Any]) -> None:
    """Anyone may register as a user or affiliate; `admin` is granted by an admin only."""
    if attrs.get("role") == "admin":
        raise Forbidden()


def product_filters(caller: Caller, params: dict[str, str]) -> dict[str, str] | None:
    """The filters a vendor's product listing (`created_by` set) runs with; None when
    nothing can be visible: another vendor's products are seen only when active.
    """
    if caller.is_admin or params.get("created_by") == str(caller.user_id):
        return params
    if params.get("status", "active") != "active":
        return None
    return {**params, "status": "active"}


def transaction_parties(tx: Mapping[str, Any]) -> set[int]:
    """The initiator, the named parties, and every wallet the postings touch."""
    named = {tx.get("user_id"), tx.get("recipient_id"), tx.get("affiliate_id")}
    named |= {p.get("user_id") for p in tx.get("postings", ())}
    return {party for party in named if isinstance(party, int)}


def is_transaction_party(caller: Caller, tx: Mapping[str, Any]) -> bool:
    return caller.is_admin or caller.user_id in transaction_parties(tx)


def check_transaction_party(caller: Caller, tx: Mapping[str, Any]) -> None:
    if not is_transaction_party(caller, tx):
        raise Forbidden()


def as_seen_by(caller: Caller, tx: Mapping[str, Any]) -> dict[str, Any]:
    """``tx`` with the balance after each posting shown only on the caller's own wallets
    (an admin sees every one): a transfer of 0.01 must not reveal the recipient's balance."""
    if caller.is_admin:
        return dict(tx)
    postings = [
        p
        if p.get("user_id") == caller.user_id and caller.user_id is not None
        else {**p, "balance_after": None}
        for p in tx.get("postings", ())
    ]
    return {**tx, "postings": postings}


def visible_transactions(caller: Caller, txs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Those of ``txs`` the caller is a party to, as they see them."""
    return [as_seen_by(caller, tx) for tx in txs if is_transaction_party(caller, tx)]
