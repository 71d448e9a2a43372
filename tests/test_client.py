"""The client API: each service module's functions with the original system's names, on
SQLite and PostgreSQL. Each takes a keyword `timeout`, answers an immutable value and raises
the domain's error."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from actors import accounts, client, ledger, products, transactions
from actors.errors import NotFound, Unauthorized, ValidationFailed
from bitnexus.accounts import User
from bitnexus.catalog import Product
from bitnexus.common.pagination import Page
from bitnexus.ledger import Block, ChainReport, Entry, Posting, Proof, Transaction, postings

PASSWORD = "correct horse battery"

# The list: each function's positional parameters, in order.
SIGNATURES = {
    accounts.create_user: ["attrs"],
    accounts.get_user: ["user_id"],
    accounts.update_user: ["user_id", "attrs"],
    accounts.delete_user: ["user_id"],
    accounts.list_users: [],
    accounts.authenticate_user: ["email", "password"],
    accounts.get_user_products: ["user_id"],
    products.create_product: ["attrs", "created_by"],
    products.get_product: ["product_id"],
    products.update_product: ["product_id", "attrs", "by"],
    products.list_products: [],
    products.list_products_by_user: ["user_id"],
    transactions.create_transaction: ["user_id", "attrs"],
    transactions.get_transaction: ["transaction_id"],
    ledger.record_transaction: ["entry"],
    ledger.get_history: ["user_id"],
    ledger.balances: ["user_id"],
    ledger.get_block: ["index"],
    ledger.verify: ["transaction_id"],
    ledger.verify_chain: [],
}


@pytest.mark.parametrize("function", SIGNATURES, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_each_function_takes_its_arguments_and_a_keyword_timeout(function):
    parameters = inspect.signature(function).parameters
    positional = [
        name
        for name, p in parameters.items()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        and not (p.kind is p.POSITIONAL_ONLY and name == "params")  # a listing's mapping
    ]
    assert positional == SIGNATURES[function]
    timeout = parameters["timeout"]
    assert timeout.kind is timeout.KEYWORD_ONLY and timeout.default is None


def test_history_takes_currency_limit_and_cursor_as_keywords():
    parameters = inspect.signature(ledger.get_history).parameters
    defaults = {name: parameters[name].default for name in ("currency", "limit", "cursor")}
    assert defaults == {"currency": None, "limit": 50, "cursor": None}
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in defaults)


def frozen(value: object) -> bool:
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    try:
        setattr(value, field, None)
    except dataclasses.FrozenInstanceError:
        return True
    return False


def aware(value: datetime) -> bool:
    return isinstance(value, datetime) and value.utcoffset() == UTC.utcoffset(None)


def test_accounts_and_products(services):
    attrs = {"email": "v@example.com", "name": "V", "password": PASSWORD}
    vendor = accounts.create_user(attrs)
    assert isinstance(vendor, User) and frozen(vendor) and aware(vendor.inserted_at)
    assert accounts.get_user(vendor.id) == vendor
    renamed = accounts.update_user(vendor.id, {"name": "Vera"})
    assert renamed.name == "Vera" and renamed.id == vendor.id
    assert accounts.authenticate_user("v@example.com", PASSWORD) == renamed
    with pytest.raises(Unauthorized):
        accounts.authenticate_user("v@example.com", "not the password")

    lamp = products.create_product({"name": "Lamp", "price": "19.90"}, vendor.id)
    assert isinstance(lamp, Product) and frozen(lamp) and lamp.status == "pending"
    assert lamp.price == Decimal("19.90") and isinstance(lamp.commission_rate, Decimal)
    assert products.get_product(lamp.id) == lamp
    priced = products.update_product(lamp.id, {"price": "24.50"}, by=vendor.id)
    assert priced.price == Decimal("24.50") and aware(priced.updated_at)
    assert products.list_products_by_user(vendor.id) == [priced]
    assert accounts.get_user_products(vendor.id) == [priced]  # through the Products service

    listed = products.list_products(created_by=vendor.id, limit=1)
    assert isinstance(listed, Page) and listed.items == (priced,) and listed.next_cursor is None
    other = accounts.create_user({"email": "o@example.com", "name": "O", "password": PASSWORD})
    first = accounts.list_users(limit=1)
    assert first.items == (renamed,) and first.next_cursor is not None
    assert accounts.list_users(cursor=first.next_cursor).items == (other,)

    assert accounts.delete_user(other.id) is None
    with pytest.raises(NotFound):
        accounts.get_user(other.id)


def test_errors_are_the_domains(services):
    with pytest.raises(ValidationFailed) as info:
        accounts.create_user({"email": "nobody"})
    assert info.value.errors == {
        "email": ["has invalid format"],
        "name": ["can't be blank"],
        "password": ["can't be blank"],
    }
    with pytest.raises(NotFound):
        products.get_product(999)
    with pytest.raises(NotFound):
        transactions.get_transaction(999)


def test_transactions_and_the_ledger(services):
    buyer = accounts.create_user({"email": "b@example.com", "name": "B", "password": PASSWORD})
    attrs = {"kind": "deposit", "amount": "50", "currency": "EUR", "idempotency_key": "d-1"}
    deposit = transactions.create_transaction(buyer.id, attrs)
    assert isinstance(deposit, Transaction) and frozen(deposit)
    assert deposit.amount == Decimal("50.00") and deposit.user_id == buyer.id
    assert aware(deposit.inserted_at) and deposit.hash and deposit.block_index > 0
    replayed = transactions.create_transaction(buyer.id, attrs)
    assert replayed.replayed and replayed.id == deposit.id
    assert transactions.get_transaction(deposit.id) == deposit

    entry = Entry("deposit", buyer.id, "EUR", 250, tuple(postings.deposit(buyer.id, "EUR", 250)))
    recorded = ledger.record_transaction(entry)
    assert isinstance(recorded, Transaction) and recorded.amount == Decimal("2.50")
    assert ledger.balances(buyer.id)["EUR"] == Decimal("52.50")

    history = ledger.get_history(buyer.id, currency="EUR", limit=1)
    assert isinstance(history, Page) and history.next_cursor is not None
    (newest,) = history.items
    assert isinstance(newest, Posting) and newest.transaction.id == recorded.id
    older = ledger.get_history(buyer.id, cursor=history.next_cursor)
    assert [p.transaction.id for p in older.items] == [deposit.id]

    block = ledger.get_block(recorded.block_index)
    assert isinstance(block, Block) and recorded.id in {t.id for t in block.transactions}
    proof = ledger.verify(deposit.id)
    assert isinstance(proof, Proof) and proof.valid
    report = ledger.verify_chain()
    assert isinstance(report, ChainReport) and report.valid


def test_timeout_defaults_to_the_configured_call_timeout(services, config, monkeypatch):
    waited = []

    def call(name, message, timeout):
        waited.append(timeout)
        raise NotFound(name)

    monkeypatch.setattr(client, "call", call)
    for ask in (lambda **kw: accounts.get_user(1, **kw), lambda **kw: ledger.verify_chain(**kw)):
        with pytest.raises(NotFound):
            ask()
        with pytest.raises(NotFound):
            ask(timeout=0.25)
    assert waited == [config.call_timeout, 0.25] * 2
