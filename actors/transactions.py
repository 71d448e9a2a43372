"""The Transactions service (registered name `transactions`, a pool).

Validates a request, resolves its parties through the Accounts and Products services,
builds the postings and asks the ledger to record them. An idempotency key makes a retry
safe: the same key and request answer the original transaction as a replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from actors import accounts, ledger, products
from actors.errors import NotFound, Unavailable, ValidationFailed
from actors.service import database_outage_as_unavailable, require_id
from bitnexus.catalog.products import COMMISSION_PLACES
from bitnexus.common.changeset import DOES_NOT_EXIST
from bitnexus.common.money import to_minor
from bitnexus.config import Config
from bitnexus.database.engine import reading
from bitnexus.ledger import postings, queries
from bitnexus.ledger.limits import limit_of
from bitnexus.ledger.requests import Request, cast_request
from bitnexus.ledger.store import KEY_REUSED, Entry
from supervisors import ActorCrashed, CallTimeout, NoProcess, Worker, call

NAME = "transactions"


@dataclass(frozen=True)
class CreateTransaction:
    """Replies {"transaction": {...}, "replay": bool}; ``user_id`` is the initiator."""

    user_id: int
    attrs: Mapping[Any, object]


@dataclass(frozen=True)
class GetTransaction:
    id: int


@dataclass(frozen=True)
class ListTransactions:
    """Newest first; filters `kind`, `currency`; paging by `limit` and `cursor`.

    ``party_id`` None lists everyone's (an admin); else the transactions that user is a
    party to (initiator, recipient, vendor, paid affiliate: every posting's wallet).
    Replies {"items": [...], "next_cursor": str | None}. Answered by this pool from the
    ledger's tables, so the ledger's writer is never held up by reads.
    """

    params: Mapping[str, object] = field(default_factory=dict)
    party_id: int | None = None


class Transactions(Worker):
    """Stateless between messages: any member of the pool can take any request."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._places = config.currencies
        self._limits = config.limits
        # Shorter than our own caller's timeout, so the caller hears 503, not a timeout.
        self._timeout = config.call_timeout * 0.8

    def handle(self, message: object) -> object:
        match message:
            case CreateTransaction(user_id=user_id, attrs=attrs):
                return self._create(require_id(user_id, "user"), attrs)
            case GetTransaction(id=transaction_id):
                found = self._read(
                    queries.get_transaction, require_id(transaction_id, "tx"), self._places
                )
                if found is None:
                    raise NotFound(f"transaction {transaction_id}")
                return found
            case ListTransactions(params=params, party_id=party_id):
                if party_id is not None and type(party_id) is not int:
                    raise NotFound(f"user {party_id!r}")
                return self._read(queries.list_transactions, params, party_id, self._places)
        return super().handle(message)

    def _create(self, user_id: int, attrs: Mapping[Any, object]) -> object:
        request = cast_request(user_id, attrs, self._places, self._limits)
        if request.idempotency_key is not None:
            replay = self._replay(request)
            if replay is not None:
                return replay
        return self._call(ledger.NAME, ledger.Record(self._entry(request)))

    def _replay(self, request: Request) -> dict[str, Any] | None:
        """The original answer to a retried request; the ledger checks again atomically."""
        assert request.idempotency_key is not None
        stored = self._read(queries.find_by_key, request.user_id, request.idempotency_key)
        if stored is None:
            return None
        if stored["request_hash"] != request.digest():
            raise ValidationFailed({"idempotency_key": [KEY_REUSED]})
        transaction = self._read(queries.get_transaction, stored["id"], self._places)
        return {"transaction": transaction, "replay": True}

    def _entry(self, request: Request) -> Entry:
        match request.kind:
            case "deposit":
                moves = postings.deposit(request.user_id, *_money(request))
            case "withdrawal":
                moves = postings.withdrawal(request.user_id, *_money(request))
            case "transfer":
                assert request.recipient_id is not None
                self._require_user(request.recipient_id, "recipient_id")
                moves = postings.transfer(request.user_id, request.recipient_id, *_money(request))
            case _:
                return self._purchase(request)
        return _entry(request, request.amount, request.currency, moves)

    def _purchase(self, request: Request) -> Entry:
        errors: dict[str, list[str]] = {}
        product = self._product(request.product_id, request.user_id, errors)
        affiliate_id = request.affiliate_id
        if affiliate_id is not None:
            role = self._require_user(affiliate_id, "affiliate_id", errors)
            if role not in (None, "affiliate"):
                errors["affiliate_id"] = ["is not an affiliate"]
        if errors or product is None:
            raise ValidationFailed(errors)
        currency = product["currency"]
        price = to_minor(Decimal(product["price"]), self._places[currency])
        if request.price is not None and request.currency != currency:
            raise ValidationFailed({"currency": ["does not match the product's currency"]})
        if request.price is not None and request.price != price:
            raise ValidationFailed({"price": ["does not match the product's price"]})
        if price > limit_of(self._limits, currency).per_transaction:
            raise ValidationFailed({"product_id": ["costs more than the per-transaction limit"]})
        commission_bp = to_minor(Decimal(product["commission_rate"]), COMMISSION_PLACES)
        moves = postings.purchase(
            request.user_id, product["created_by"], affiliate_id, currency, price, commission_bp
        )
        return _entry(request, price, currency, moves)

    def _product(
        self, product_id: int | None, buyer_id: int, errors: dict[str, list[str]]
    ) -> dict[str, Any] | None:
        """The product if it can be bought by ``buyer_id``; else the reason in ``errors``."""
        try:
            product = self._call(products.NAME, products.GetProduct(product_id))
        except NotFound:
            errors["product_id"] = [DOES_NOT_EXIST]
            return None
        if product["status"] != "active" or product["created_by"] is None:
            errors["product_id"] = ["is not active"]
        elif product["created_by"] == buyer_id:
            errors["product_id"] = ["can't be bought by its vendor"]
        return product

    def _require_user(
        self, user_id: int, field: str, errors: dict[str, list[str]] | None = None
    ) -> str | None:
        """The user's role; "does not exist" on ``field`` (raised, or added to ``errors``)."""
        try:
            return self._call(accounts.NAME, accounts.GetUser(user_id))["role"]
        except NotFound:
            if errors is None:
                raise ValidationFailed({field: [DOES_NOT_EXIST]}) from None
            errors[field] = [DOES_NOT_EXIST]
            return None

    def _call(self, name: str, message: object) -> Any:
        try:
            return call(name, message, self._timeout)
        except (ActorCrashed, CallTimeout, NoProcess) as exc:
            # Not known to be done: with an idempotency key, the client's retry is safe.
            raise Unavailable(f"{name}: {exc}") from exc

    def _read(self, query: Any, *args: Any) -> Any:
        with database_outage_as_unavailable(), reading(self._engine) as conn:
            return query(conn, *args)


def _money(request: Request) -> tuple[str, int]:
    assert request.currency is not None and request.amount is not None
    return request.currency, request.amount


def _entry(
    request: Request, amount: int | None, currency: str | None, moves: list[postings.Posting]
) -> Entry:
    assert amount is not None and currency is not None
    return Entry(
        kind=request.kind,
        user_id=request.user_id,
        currency=currency,
        amount=amount,
        postings=tuple(moves),
        recipient_id=request.recipient_id,
        product_id=request.product_id,
        affiliate_id=request.affiliate_id,
        description=request.description,
        idempotency_key=request.idempotency_key,
        request_hash=request.digest() if request.idempotency_key is not None else None,
    )
