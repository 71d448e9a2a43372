"""Who may see and change what: access rules keyed on the caller's identity and role.

Field values are never checked here (the services do that). Who sees a product, and
ownership of one being changed, are the catalog's rules, checked by the Products service
(in the transaction that writes): web passes the caller (`restricted_to`).
"""

from __future__ import annotations

from collections.abc import Mapping
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
    if not (caller.is_admin or caller.user_id in tx.parties):
        raise Forbidden()
