"""The Transactions service (registered name `transactions`, a pool).

Validates a request, resolves its parties through the Accounts and Products services,
builds the postings and asks the ledger to record them. An idempotency key makes a retry
safe: the same key and request answer the original transaction as a replay.

The client functions at the end are its API, as an OTP module exports one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from actors import accounts, ledger, products
from actors.client import ask
from actors.errors import NotFound, ValidationFailed
from actors.service import TASKS, Service, dependency, dependency_timeout, read, require_id
from bitnexus import ledger as journal
from bitnexus.catalog import ACTIVE, COMMISSION_PLACES, Product
from bitnexus.common.changeset import DOES_NOT_EXIST
from bitnexus.common.money import to_minor
from bitnexus.common.pagination import Page
from bitnexus.config import Config
from bitnexus.ledger import (
    KEY_REUSED,
    Entry,
    Request,
    Transaction,
    cast_request,
    limit_of,
    postings,
)
from supervisors import task

NAME = "transactions"


@dataclass(frozen=True)
class CreateTransaction:
    """Replies the recorded `Transaction` (`replayed` for a retry); ``user_id`` is the
    initiator."""

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
    Replies a `Page`. Answered by this pool from the ledger's tables, so the ledger's
    writer is never held up by reads.
    """

    params: Mapping[str, object] = field(default_factory=dict)
    party_id: int | None = None


class Transactions(Service):
    """Stateless between messages: any member of the pool can take any request."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._places = config.currencies
        self._limits = config.limits
        self._timeout = dependency_timeout(config.call_timeout)

    def handle(self, message: object) -> object:
        match message:
            case CreateTransaction(user_id=user_id, attrs=attrs):
                return self._create(require_id(user_id, "user"), attrs)
            case GetTransaction(id=transaction_id):
                found = read(
                    self._engine,
                    journal.get_transaction,
                    require_id(transaction_id, "tx"),
                    self._places,
                )
                if found is None:
                    raise NotFound(f"transaction {transaction_id}")
                return found
            case ListTransactions(params=params, party_id=party_id):
                if party_id is not None and type(party_id) is not int:
                    raise NotFound(f"user {party_id!r}")
                return read(self._engine, journal.list_transactions, params, party_id, self._places)
        return super().handle(message)

    def _create(self, user_id: int, attrs: Mapping[Any, object]) -> Transaction:
        request = cast_request(user_id, attrs, self._places, self._limits)
        try:
            entry = self._entry(request)
        except ValidationFailed:
            # A retry whose parties changed since (a product withdrawn): the original
            # answer stands. Otherwise the ledger checks the key inside the block.
            replay = self._replay(request)
            if replay is None:
                raise
            return replay
        with dependency(ledger.NAME):
            return ledger.record_transaction(entry, timeout=self._timeout)

    def _replay(self, request: Request) -> Transaction | None:
        """The original answer to a retried request, if this is one."""
        if request.idempotency_key is None:
            return None
        stored = read(self._engine, journal.find_by_key, request.user_id, request.idempotency_key)
        if stored is None:
            return None
        if stored["request_hash"] != request.digest():
            raise ValidationFailed({"idempotency_key": [KEY_REUSED]})
        original = read(self._engine, journal.get_transaction, stored["id"], self._places)
        return dataclasses.replace(original, replayed=True)

    def _entry(self, request: Request) -> Entry:
        match request.kind:
            case "deposit":
                moves = postings.deposit(request.user_id, *_money(request))
            case "withdrawal":
                moves = postings.withdrawal(request.user_id, *_money(request))
            case "transfer":
                # The ledger answers "does not exist" for a recipient it can't lock.
                assert request.recipient_id is not None
                moves = postings.transfer(request.user_id, request.recipient_id, *_money(request))
            case _:
                return self._purchase(request)
        return _entry(request, request.amount, request.currency, moves)

    def _purchase(self, request: Request) -> Entry:
        errors: dict[str, list[str]] = {}
        affiliate_id = request.affiliate_id
        affiliate_errors: dict[str, list[str]] = {}
        lookup = None
        if affiliate_id is not None:  # looked up (Accounts) while the product is (Products)
            with dependency(TASKS):
                lookup = task.async_nolink(
                    TASKS, self._require_user, affiliate_id, "affiliate_id", affiliate_errors
                )
        product = self._product(request.product_id, request.user_id, errors)
        if lookup is not None:
            with dependency(TASKS):
                role = lookup.await_(self._timeout)
            errors.update(affiliate_errors)
            if role not in (None, "affiliate"):
                errors["affiliate_id"] = ["is not an affiliate"]
        if errors or product is None:
            raise ValidationFailed(errors)
        currency = product.currency
        price = to_minor(product.price, self._places[currency])
        if request.price is not None and request.currency != currency:
            raise ValidationFailed({"currency": ["does not match the product's currency"]})
        if request.price is not None and request.price != price:
            raise ValidationFailed({"price": ["does not match the product's price"]})
        if price > limit_of(self._limits, currency).per_transaction:
            raise ValidationFailed({"product_id": ["costs more than the per-transaction limit"]})
        commission_bp = to_minor(product.commission_rate, COMMISSION_PLACES)
        assert product.created_by is not None  # checked by _product
        moves = postings.purchase(
            request.user_id, product.created_by, affiliate_id, currency, price, commission_bp
        )
        return _entry(request, price, currency, moves)

    def _product(
        self, product_id: int | None, buyer_id: int, errors: dict[str, list[str]]
    ) -> Product | None:
        """The product if it can be bought by ``buyer_id``; else the reason in ``errors``."""
        try:
            with dependency(products.NAME):
                product = products.get_product(product_id, timeout=self._timeout)
        except NotFound:
            errors["product_id"] = [DOES_NOT_EXIST]
            return None
        if product.status != ACTIVE or product.created_by is None:
            errors["product_id"] = ["is not active"]
        elif product.created_by == buyer_id:
            errors["product_id"] = ["can't be bought by its vendor"]
        return product

    def _require_user(self, user_id: int, field: str, errors: dict[str, list[str]]) -> str | None:
        """The user's role; else "does not exist" on ``field`` in ``errors``."""
        try:
            with dependency(accounts.NAME):
                return accounts.get_user(user_id, timeout=self._timeout).role
        except NotFound:
            errors[field] = [DOES_NOT_EXIST]
            return None


def _money(request: Request) -> tuple[str, int]:
    assert request.currency is not None and request.amount is not None
    return request.currency, request.amount


def _entry(
    request: Request, amount: int | None, currency: str | None, moves: list[postings.Move]
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


# ---------------------------------------------------------------- client functions
# Each waits `timeout` seconds (default: the configured call timeout) and raises the
# domain's error (ValidationFailed, NotFound) or the runtime's.


def create_transaction(
    user_id: int, attrs: Mapping[str, object], *, timeout: float | None = None
) -> Transaction:
    """Record a transaction initiated by ``user_id``; ``attrs`` as the HTTP body's
    `transaction` object (`kind`, `amount`, `currency`, …, `idempotency_key`)."""
    return ask(NAME, CreateTransaction(user_id, attrs), timeout)


def get_transaction(transaction_id: int, *, timeout: float | None = None) -> Transaction:
    return ask(NAME, GetTransaction(transaction_id), timeout)


def list_transactions(
    params: Mapping[str, object] | None = None,
    /,
    *,
    party_id: int | None = None,
    timeout: float | None = None,
    **filters: object,
) -> Page[Transaction]:
    """Newest first; filters `kind`, `currency`, `limit`, `cursor` (as keywords or as a
    mapping); ``party_id`` only those that user is a party to (None: everyone's)."""
    return ask(NAME, ListTransactions({**(params or {}), **filters}, party_id), timeout)
