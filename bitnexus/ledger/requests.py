"""A client's transaction request: cast and validated like an Ecto changeset.

Only what can be checked without asking another service is checked here; parties
(recipient, product, affiliate) are resolved by the Transactions service, funds by the
ledger. An id no row can have (past the INTEGER columns) "does not exist" already here:
the database would refuse it as out of range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from bitnexus.catalog import PRICE_LIMIT
from bitnexus.common.changeset import (
    DOES_NOT_EXIST,
    INVALID,
    Changeset,
    cast_decimal,
    cast_integer,
    cast_string,
    decimal_places,
    enum_caster,
)
from bitnexus.common.errors import ValidationFailed
from bitnexus.common.money import to_minor
from bitnexus.database.schema import MAX_ID
from bitnexus.ledger.hashing import canonical, sha256_hex
from bitnexus.ledger.limits import Limit, limit_of
from bitnexus.ledger.schema import TRANSACTION_KINDS

DESCRIPTION_MAX = 500
KEY_MAX = 255
AMOUNT_LIMIT = PRICE_LIMIT  # exclusive, in major units: any amount fits a BIGINT
# The fields each kind takes from the client; the others are ignored, as unknown fields are.
FIELDS = {
    "deposit": ("amount", "currency"),
    "withdrawal": ("amount", "currency"),
    "transfer": ("amount", "currency", "recipient_id"),
    "purchase": ("product_id", "affiliate_id", "price", "currency"),
}
REQUIRED = {
    "deposit": ("amount", "currency"),
    "withdrawal": ("amount", "currency"),
    "transfer": ("amount", "currency", "recipient_id"),
    "purchase": ("product_id",),
}
PARTIES = ("recipient_id", "product_id", "affiliate_id")
_CASTERS = {
    "amount": cast_decimal,
    "price": cast_decimal,
    "currency": cast_string,
    "recipient_id": cast_integer,
    "product_id": cast_integer,
    "affiliate_id": cast_integer,
    "description": cast_string,
    "idempotency_key": cast_string,
}


@dataclass(frozen=True)
class Request:
    """A valid request; ``amount`` in minor units (None for a purchase: the price decides)."""

    kind: str
    user_id: int
    amount: int | None = None
    currency: str | None = None
    recipient_id: int | None = None
    product_id: int | None = None
    affiliate_id: int | None = None
    description: str | None = None
    idempotency_key: str | None = None
    price: int | None = None  # a purchase's expected price, with ``currency``, in minor units

    def digest(self) -> str:
        """What a replay under the same idempotency key must match."""
        fields = asdict(self)
        del fields["user_id"], fields["idempotency_key"]  # they select the key's slot
        if fields["price"] is None:
            del fields["price"]  # digests of requests without one stay as they were
        return sha256_hex(canonical(fields))


def cast_request(
    user_id: int,
    attrs: Mapping[Any, object],
    places: Mapping[str, int],
    limits: Mapping[str, Limit],
) -> Request:
    """The request in ``attrs`` from ``user_id``; raises ValidationFailed."""
    cs = Changeset(attrs, {}).cast("kind", enum_caster(TRANSACTION_KINDS))
    cs.validate_required("kind")
    kind = cs.get("kind")
    if not isinstance(kind, str):
        raise ValidationFailed(cs.errors)
    for name in (*FIELDS[kind], "description", "idempotency_key"):
        cs.cast(name, _CASTERS[name])
    cs.validate_required(*REQUIRED[kind])
    cs.validate_length("description", max=DESCRIPTION_MAX)
    cs.validate_length("idempotency_key", max=KEY_MAX)
    cs.validate_inclusion("currency", places)
    cs.validate_number("amount", greater_than=0, less_than=AMOUNT_LIMIT)
    cs.validate_number("price", greater_than=0, less_than=AMOUNT_LIMIT)
    _validate_places(cs, places, "amount")
    _validate_places(cs, places, "price")
    _validate_limit(cs, places, limits)
    for name in PARTIES:
        party_id = cs.get(name)
        if isinstance(party_id, int) and not 0 < party_id <= MAX_ID:
            cs.add_error(name, DOES_NOT_EXIST)
    if kind == "transfer" and cs.get("recipient_id") == user_id:
        cs.add_error("recipient_id", "can't be the sender")
    if kind == "purchase" and cs.get("affiliate_id") == user_id:
        cs.add_error("affiliate_id", "can't be the buyer")
    if kind == "purchase" and (cs.get("price") is None) != (cs.get("currency") is None):
        cs.validate_required("price", "currency")  # the expected price pins both
    if not cs.valid:
        raise ValidationFailed(cs.errors)
    values = {name: cs.get(name) for name in _CASTERS if name not in ("amount", "price")}
    for name in ("amount", "price"):
        value = cs.get(name)
        if isinstance(value, Decimal):
            values[name] = to_minor(value, places[str(values["currency"])])
    return Request(kind=kind, user_id=user_id, **values)  # type: ignore[arg-type]


def _validate_limit(cs: Changeset, places: Mapping[str, int], limits: Mapping[str, Limit]) -> None:
    """No more than the currency's per-transaction limit (bitnexus.ledger.limits)."""
    amount, currency = cs.get("amount"), cs.get("currency")
    if "amount" in cs.errors or "currency" in cs.errors or not isinstance(amount, Decimal):
        return
    most = Decimal(limit_of(limits, str(currency)).per_transaction).scaleb(-places[str(currency)])
    most = Decimal(f"{most.normalize():f}")  # "10", not "10.00000000", in the message
    cs.validate_number("amount", less_than_or_equal_to=most)  # type: ignore[arg-type]


def _validate_places(cs: Changeset, places: Mapping[str, int], field: str) -> None:
    """More decimal places than the currency has is "is invalid", as a failed cast is.
    Without a currency (a purchase's price alone) there are no places to check: the
    purchase's rule that the price comes with its currency reports that."""
    value, currency = cs.get(field), cs.get("currency")
    if field in cs.errors or "currency" in cs.errors or currency is None:
        return
    if isinstance(value, Decimal) and decimal_places(value) > places[str(currency)]:
        cs.add_error(field, INVALID)
