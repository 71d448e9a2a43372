"""Who may see and change what: access rules keyed on the caller's identity and role.

Field values are never checked here (the services do that). Who sees a product, and
ownership of one being changed, are the catalog's rules, checked by the Products service
(in the transaction that writes): web passes the caller (`restricted_to`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from werkzeug.exceptions import Forbidden

from bitnexus.ledger import Transaction
from web.auth import Caller


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


def check_transaction_party(caller: Caller, tx: Transaction) -> None:
    if not is_transaction_party(caller, tx):
        raise Forbidden()


def is_transaction_party(caller: Caller, tx: Transaction) -> bool:
    return caller.is_admin or caller.user_id in tx.parties


def as_seen_by(caller: Caller, tx: Transaction) -> Transaction:
    """``tx`` with the balance after each posting shown only on the caller's own wallets
    (an admin sees every one): a transfer of 0.01 must not reveal the recipient's balance."""
    if caller.is_admin:
        return tx
    postings = tuple(
        p
        if caller.user_id is not None and p.user_id == caller.user_id
        else replace(p, balance_after=None)
        for p in tx.postings
    )
    return replace(tx, postings=postings)


def visible_transactions(caller: Caller, txs: Iterable[Transaction]) -> tuple[Transaction, ...]:
    """Those of ``txs`` the caller is a party to, as they see them."""
    return tuple(as_seen_by(caller, tx) for tx in txs if is_transaction_party(caller, tx))
