"""The Transactions service through its messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import TIMEOUT, fund, make_user, transact

from actors.accounts import DeleteUser, GetUser
from actors.errors import NotFound, ValidationFailed
from actors.ledger_readers import Balances, VerifyChain
from actors.products import CreateProduct, UpdateProduct
from actors.transactions import CreateTransaction, GetTransaction, ListTransactions
from bitnexus.common.pagination import encode_cursor
from bitnexus.ledger import Posting
from bitnexus.ledger.schema import ledger_transactions
from supervisors import call

FIELDS = {
    "id", "kind", "amount", "currency", "user_id", "recipient_id", "product_id",
    "affiliate_id", "description", "idempotency_key", "postings", "block_index", "hash",
    "inserted_at", "replayed",
}  # fmt: skip


def create(user_id, **attrs):
    return call("transactions", CreateTransaction(user_id, attrs), TIMEOUT)


def errors_of(user_id, **attrs):
    with pytest.raises(ValidationFailed) as info:
        create(user_id, **attrs)
    return info.value.errors


def balance(user_id, currency="EUR"):
    return call("ledger_readers", Balances(user_id), TIMEOUT)[currency]


def product(vendor, status="active", **attrs):
    attrs = {"name": "Lamp", "price": "10.01", "created_by": vendor, "status": status, **attrs}
    return call("products", CreateProduct(attrs), TIMEOUT)


def count_transactions(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(ledger_transactions)).scalar()


# ---------------------------------------------------------------- the four kinds


def test_deposit_credits_the_wallet_from_the_world(services):
    alice = make_user()
    tx = create(alice, kind="deposit", amount="12.5", currency="EUR", description="salary")
    assert tx.replayed is False and {f.name for f in dataclasses.fields(tx)} == FIELDS
    assert (tx.kind, tx.status, tx.amount, tx.currency) == (
        "deposit",
        "posted",
        Decimal("12.50"),
        "EUR",
    )
    assert tx.user_id == alice and tx.description == "salary"
    assert [(p.account, str(p.amount)) for p in tx.postings] == [
        ("world", "-12.50"),
        ("wallet", "12.50"),
    ]
    assert tx.inserted_at.tzinfo == UTC and len(tx.hash) == 64
    assert call("transactions", GetTransaction(tx.id), TIMEOUT) == tx


def test_amounts_are_read_exactly_in_each_currency(services):
    alice = make_user()
    assert fund(alice, "0.00000001", "NXC").amount == Decimal("0.00000001")
    assert fund(alice, 3, "USD").amount == Decimal("3.00")
    assert fund(alice, 0.1, "EUR").amount == Decimal("0.10")
    assert fund(alice, "1e2", "EUR").amount == Decimal("100.00")
    assert call("ledger_readers", Balances(alice), TIMEOUT) == {
        "EUR": Decimal("100.10"),
        "USD": Decimal("3.00"),
        "NXC": Decimal("0.00000001"),
    }


def test_withdrawal_needs_funds(services):
    alice = make_user()
    fund(alice, "5.00")
    assert transact(alice, kind="withdrawal", amount="4.99", currency="EUR").postings[1] == Posting(
        user_id=None, currency="EUR", amount=Decimal("4.99"), balance_after=Decimal("-0.01")
    )
    assert errors_of(alice, kind="withdrawal", amount="0.02", currency="EUR") == {
        "amount": ["insufficient funds"]
    }
    assert errors_of(alice, kind="withdrawal", amount="1", currency="USD") == {
        "amount": ["insufficient funds"]
    }
    assert balance(alice) == Decimal("0.01")


def test_transfer_moves_money_between_wallets(services):
    alice, bob = make_user(), make_user()
    fund(alice, "10")
    tx = transact(alice, kind="transfer", amount="2.50", currency="EUR", recipient_id=str(bob))
    assert tx.recipient_id == bob
    assert (balance(alice), balance(bob)) == (Decimal("7.50"), Decimal("2.50"))
    assert errors_of(alice, kind="transfer", amount="8", currency="EUR", recipient_id=bob) == {
        "amount": ["insufficient funds"]
    }
    assert errors_of(alice, kind="transfer", amount="1", currency="EUR", recipient_id=alice) == {
        "recipient_id": ["can't be the sender"]
    }
    assert errors_of(alice, kind="transfer", amount="1", currency="EUR", recipient_id=10**6) == {
        "recipient_id": ["does not exist"]
    }


@pytest.mark.parametrize("field", ["recipient_id", "product_id", "affiliate_id"])
@pytest.mark.parametrize("bad_id", [-1, 0, 2**31, 2**63, 2**64, "9223372036854775808"])
def test_an_id_no_record_can_have_does_not_exist(services, engine, field, bad_id):
    alice, vendor = make_user(), make_user()
    fund(alice, "10")
    attrs = {"kind": "purchase", "product_id": product(vendor).id}
    if field == "recipient_id":
        attrs = {"kind": "transfer", "amount": "1", "currency": "EUR"}
    before = count_transactions(engine)
    assert errors_of(alice, **attrs | {field: bad_id}) == {field: ["does not exist"]}
    assert count_transactions(engine) == before and balance(alice) == Decimal("10.00")


def test_purchase_pays_the_vendor_and_the_affiliate_commission(services):
    buyer, vendor, affiliate = make_user(), make_user(), make_user("affiliate")
    fund(buyer, "100")
    lamp = product(vendor, price="10.01", commission_rate="12.5")
    tx = transact(buyer, kind="purchase", product_id=lamp.id, affiliate_id=affiliate)
    assert (str(tx.amount), tx.product_id, tx.affiliate_id) == ("10.01", lamp.id, affiliate)
    # 12.5 % of 10.01 is 1.25125: the affiliate gets 1.25, the vendor the rest.
    assert [(p.user_id, str(p.amount)) for p in tx.postings] == [
        (buyer, "-10.01"),
        (vendor, "8.76"),
        (affiliate, "1.25"),
    ]
    plain = transact(buyer, kind="purchase", product_id=lamp.id)
    assert [(p.user_id, str(p.amount)) for p in plain.postings] == [
        (buyer, "-10.01"),
        (vendor, "10.01"),
    ]


def test_purchase_refusals(services):
    buyer, vendor, other = make_user(), make_user(), make_user()
    fund(buyer, "5")
    lamp = product(vendor, price="10.00")
    cheap = product(vendor, price="1.00")
    pending = product(vendor, status="pending")
    mine = product(buyer, price="1.00")
    assert errors_of(buyer, kind="purchase", product_id=lamp.id) == {
        "amount": ["insufficient funds"]
    }
    assert errors_of(buyer, kind="purchase", product_id=pending.id) == {
        "product_id": ["is not active"]
    }
    assert errors_of(buyer, kind="purchase", product_id=mine.id) == {
        "product_id": ["can't be bought by its vendor"]
    }
    assert errors_of(buyer, kind="purchase", product_id=10**6) == {"product_id": ["does not exist"]}
    assert errors_of(buyer, kind="purchase", product_id=cheap.id, affiliate_id=other) == {
        "affiliate_id": ["is not an affiliate"]
    }
    assert errors_of(buyer, kind="purchase", product_id=pending.id, affiliate_id=10**6) == {
        "product_id": ["is not active"],
        "affiliate_id": ["does not exist"],
    }
    assert errors_of(buyer, kind="purchase", product_id=cheap.id, affiliate_id=buyer) == {
        "affiliate_id": ["can't be the buyer"]
    }
    assert balance(buyer) == Decimal("5.00")


# ---------------------------------------------------------------- validation


DEPOSIT = {"kind": "deposit", "amount": "1", "currency": "EUR"}
TRANSFER = {"kind": "transfer", "amount": "1", "currency": "EUR"}
BLANK, INVALID, POSITIVE = ["can't be blank"], ["is invalid"], ["must be greater than 0"]


@pytest.mark.parametrize(
    ("attrs", "errors"),
    [
        ({}, {"kind": BLANK}),
        ({"kind": "gift"}, {"kind": INVALID}),
        ({"kind": "deposit"}, {"amount": BLANK, "currency": BLANK}),
        (DEPOSIT | {"amount": " ", "currency": None}, {"amount": BLANK, "currency": BLANK}),
        (TRANSFER, {"recipient_id": BLANK}),
        ({"kind": "purchase"}, {"product_id": BLANK}),
        (DEPOSIT | {"amount": "abc"}, {"amount": INVALID}),
        (DEPOSIT | {"amount": "NaN"}, {"amount": INVALID}),
        (DEPOSIT | {"amount": "Infinity"}, {"amount": INVALID}),
        (DEPOSIT | {"amount": True}, {"amount": INVALID}),
        (DEPOSIT | {"amount": [1]}, {"amount": INVALID}),
        (DEPOSIT | {"amount": "1.001"}, {"amount": INVALID}),
        (DEPOSIT | {"amount": "0.000000001", "currency": "NXC"}, {"amount": INVALID}),
        (DEPOSIT | {"amount": "0"}, {"amount": POSITIVE}),
        (DEPOSIT | {"amount": -5}, {"amount": POSITIVE}),
        (DEPOSIT | {"amount": "1e10"}, {"amount": ["must be less than 10000000000"]}),
        (DEPOSIT | {"currency": "XYZ"}, {"currency": INVALID}),
        (DEPOSIT | {"currency": 5}, {"currency": INVALID}),
        (TRANSFER | {"recipient_id": "abc"}, {"recipient_id": INVALID}),
        (
            DEPOSIT | {"description": "d" * 501},
            {"description": ["should be at most 500 character(s)"]},
        ),
        (
            DEPOSIT | {"idempotency_key": "k" * 256},
            {"idempotency_key": ["should be at most 255 character(s)"]},
        ),
        (DEPOSIT | {"idempotency_key": 7}, {"idempotency_key": INVALID}),
    ],
)
def test_validation_errors(services, engine, attrs, errors):
    alice = make_user()
    assert errors_of(alice, **attrs) == errors
    assert count_transactions(engine) == 0


def test_limits_are_inclusive_and_unknown_fields_ignored(services):
    alice = make_user()
    tx = transact(
        alice, kind="deposit", amount="1000000.00", currency="EUR", description="d" * 500,
        idempotency_key="k" * 255, id=5, status="void", recipient_id="not looked at",
    )  # fmt: skip
    assert tx.amount == Decimal("1000000.00") and tx.recipient_id is None and tx.id != 5


def test_an_unknown_transaction_is_not_found(services):
    for bad in (10**6, "1", -1):
        with pytest.raises(NotFound):
            call("transactions", GetTransaction(bad), TIMEOUT)


# ---------------------------------------------------------------- idempotency


def test_a_replay_returns_the_original_and_posts_nothing(services, engine):
    alice, bob = make_user(), make_user()
    fund(alice, "10")
    attrs = {
        "kind": "transfer",
        "amount": "1",
        "currency": "EUR",
        "recipient_id": bob,
        "idempotency_key": "k1",
    }
    first = create(alice, **attrs)
    again = create(alice, **attrs | {"amount": "1.00", "recipient_id": str(bob)})  # same request
    assert again == dataclasses.replace(first, replayed=True)
    assert errors_of(alice, **attrs | {"amount": "2"}) == {
        "idempotency_key": ["was already used for another request"]
    }
    # Replays answer even when the request could not be posted again (funds are gone now).
    transact(alice, kind="withdrawal", amount="9", currency="EUR")
    assert create(alice, **attrs).replayed is True
    assert create(bob, **attrs | {"recipient_id": alice}).replayed is False  # keys are per user
    assert count_transactions(engine) == 4
    assert balance(alice) == Decimal("1.00")


def test_a_replay_answers_after_its_parties_changed(services, engine):
    buyer, vendor, friend = make_user(), make_user(), make_user()
    fund(buyer, "10")
    fund(friend, "1")
    lamp = product(vendor, price="2.00")
    bought = create(buyer, kind="purchase", product_id=lamp.id, idempotency_key="p1")
    sent = create(friend, **TRANSFER | {"recipient_id": buyer, "idempotency_key": "t1"})
    call("products", UpdateProduct(lamp.id, {"status": "archived"}), TIMEOUT)
    transact(buyer, kind="withdrawal", amount="9", currency="EUR")
    call("accounts", DeleteUser(buyer), TIMEOUT)  # the transfer's recipient is gone
    again = create(buyer, kind="purchase", product_id=lamp.id, idempotency_key="p1")
    assert again == dataclasses.replace(bought, replayed=True)
    again = create(friend, **TRANSFER | {"recipient_id": buyer, "idempotency_key": "t1"})
    assert again == dataclasses.replace(sent, replayed=True)
    assert errors_of(friend, **TRANSFER | {"recipient_id": buyer}) == {
        "recipient_id": ["does not exist"]
    }
    assert count_transactions(engine) == 5


# ---------------------------------------------------------------- accounts


def test_a_user_with_money_cannot_be_deleted(services):
    alice = make_user()
    fund(alice, "1")
    with pytest.raises(ValidationFailed) as refused:
        call("accounts", DeleteUser(alice), TIMEOUT)
    assert refused.value.errors == {"balances": ["must all be zero before the user is deleted"]}
    transact(alice, kind="withdrawal", amount="1", currency="EUR")
    call("accounts", DeleteUser(alice), TIMEOUT)
    with pytest.raises(NotFound):
        call("accounts", GetUser(alice), TIMEOUT)
    assert errors_of(alice, kind="deposit", amount="1", currency="EUR") == {
        "user_id": ["does not exist"]
    }


# ---------------------------------------------------------------- commission rounding


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    currency=st.sampled_from(["EUR", "USD", "NXC"]),
    price_minor=st.integers(min_value=1, max_value=10**8),  # the EUR per-transaction limit
    rate_bp=st.integers(min_value=0, max_value=10_000),
)
def test_commission_rounds_half_even_and_postings_sum_to_zero(
    services, currency, price_minor, rate_bp
):
    places = {"EUR": 2, "USD": 2, "NXC": 8}[currency]
    buyer, vendor, affiliate = make_user(), make_user(), make_user("affiliate")
    price = Decimal(price_minor).scaleb(-places)
    rate = Decimal(rate_bp).scaleb(-2)
    fund(buyer, str(price), currency)
    item = product(vendor, price=str(price), currency=currency, commission_rate=str(rate))
    tx = transact(buyer, kind="purchase", product_id=item.id, affiliate_id=affiliate)
    amounts = {p.user_id: Decimal(p.amount) for p in tx.postings}
    assert sum(amounts.values()) == 0
    expected = (price * rate / 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    assert amounts.get(affiliate, Decimal(0)) == expected
    assert amounts.get(vendor, Decimal(0)) == price - expected  # nothing left: no posting
    assert all(Decimal(p.balance_after) >= 0 for p in tx.postings if p.user_id is not None)


def test_the_chain_verifies_after_every_kind(services):
    buyer, vendor = make_user(), make_user()
    fund(buyer, "3")
    transact(buyer, kind="purchase", product_id=product(vendor, price="1").id)
    transact(buyer, kind="transfer", amount="1", currency="EUR", recipient_id=vendor)
    transact(vendor, kind="withdrawal", amount="2", currency="EUR")
    assert call("ledger_readers", VerifyChain(), TIMEOUT).valid


# ---------------------------------------------------------------- listing


def listed(party_id=None, **params):
    return call("transactions", ListTransactions(params, party_id), TIMEOUT)


def listed_ids(party_id=None, **params):
    return [tx.id for tx in listed(party_id, **params).items]


def test_list_transactions_of_each_party_newest_first(services):
    alice, bob, vendor, stranger = make_user(), make_user(), make_user(), make_user()
    affiliate = make_user("affiliate")
    eur = fund(alice, "100").id
    usd = fund(alice, "5", "USD").id
    sent = transact(alice, kind="transfer", amount="3", currency="EUR", recipient_id=bob).id
    out = transact(bob, kind="withdrawal", amount="1", currency="EUR").id
    lamp = product(vendor, price="10", commission_rate="10")
    bought = transact(alice, kind="purchase", product_id=lamp.id, affiliate_id=affiliate).id
    assert listed_ids(alice) == [bought, sent, usd, eur]
    assert listed_ids(bob) == [out, sent]
    assert listed_ids(vendor) == listed_ids(affiliate) == [bought]
    assert listed_ids(stranger) == [] and listed_ids(10**6) == listed_ids(2**40) == []
    assert listed_ids() == [bought, out, sent, usd, eur]  # None: everyone's (an admin)
    assert listed_ids(alice, kind="transfer") == [sent]
    assert listed_ids(alice, currency="USD") == [usd]
    assert listed_ids(bob, kind="deposit") == []
    assert listed_ids(kind="withdrawal", currency="EUR") == [out]
    page = listed(bob)
    assert page.next_cursor is None
    assert page.items[1] == call("transactions", GetTransaction(sent), TIMEOUT)


def test_list_transactions_pages_stably(services):
    alice, bob = make_user(), make_user()
    made = [fund(alice, str(i + 1)).id for i in range(7)]
    seen, cursor = [], None
    while True:
        page = listed(alice, limit=3, **({"cursor": cursor} if cursor else {}))
        assert len(page.items) <= 3
        seen += [tx.id for tx in page.items]
        fund(alice, "1")  # newer ones while paging never show up on a later page
        fund(bob, "1")
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == made[::-1]
    everyone = listed(limit=2)
    assert len(everyone.items) == 2 and everyone.next_cursor is not None


def test_list_transactions_rejects_invalid_params(services):
    errors = listed_errors(kind="refund", currency="XYZ", limit=0)
    assert errors == {
        "kind": ["is invalid"],
        "currency": ["is invalid"],
        "limit": ["must be greater than 0"],
    }
    assert listed_errors(limit=101) == {"limit": ["must be less than or equal to 100"]}
    assert listed_errors(cursor="garbage!") == {"cursor": ["is invalid"]}
    user = make_user()
    fund(user, "1")
    fund(user, "1")
    cursor = listed(user, limit=1).next_cursor
    assert cursor is not None and listed_ids(user, cursor=cursor)
    # Another listing's cursor is not one of ours.
    assert listed_errors(cursor=encode_cursor("products", 5)) == {"cursor": ["is invalid"]}
    with pytest.raises(NotFound):
        call("transactions", ListTransactions({}, "1"), TIMEOUT)


def listed_errors(party_id=None, **params):
    with pytest.raises(ValidationFailed) as info:
        listed(party_id, **params)
    return info.value.errors


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite's planner is not the subject
def test_a_partys_listing_uses_indexes(services, engine):
    """On PostgreSQL, with sequential scans priced out, each of the party's accounts is
    read on the postings' (account_id, transaction_id) index."""
    user = make_user()
    fund(user, "1")
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "ledger_postings.transaction_id DESC" in statement:  # not a block's announcement
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        assert len(listed_ids(user, kind="deposit", currency="EUR")) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = statements[0]
    assert "DESC" in statement
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
    text = "\n".join(plan)
    assert "Seq Scan on ledger_postings" not in text, text


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite's planner is not the subject
def test_a_partys_listing_reads_its_own_postings_not_the_ledgers(services, engine):
    """A party whose one transaction is old: its listing (a channel's join reads it) reads
    that party's postings, not every posting newer than it."""
    user, other = make_user(), make_user()
    old = fund(user, "1").id
    for _ in range(150):
        fund(other, "1")
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "ledger_postings.transaction_id DESC" in statement:  # the postings' index ranges
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        assert listed_ids(user) == [old]
        assert listed_ids(user, kind="deposit", currency="EUR") == [old]
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert statements
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = conn.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters).scalars()
            read = [
                int(rows)
                for line in plan
                if "on ledger_postings" in line
                for rows in re.findall(r"actual time=\S+ rows=(\d+)", line)
            ]
            assert read and max(read) <= 2, (statement, read)
