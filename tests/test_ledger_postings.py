"""Postings of each kind: they always sum to zero; commissions round half-even."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitnexus.ledger.postings import (
    Move,
    basis_points_of,
    deposit,
    merged,
    purchase,
    transfer,
    withdrawal,
)

amounts = st.integers(min_value=1, max_value=10**15)
users = st.integers(min_value=1, max_value=5)


def test_simple_kinds_move_money_between_two_accounts():
    assert deposit(7, "EUR", 100) == [Move(None, "EUR", -100), Move(7, "EUR", 100)]
    assert withdrawal(7, "EUR", 100) == [Move(7, "EUR", -100), Move(None, "EUR", 100)]
    assert transfer(7, 8, "NXC", 1) == [Move(7, "NXC", -1), Move(8, "NXC", 1)]


@pytest.mark.parametrize(
    ("minor", "bp", "expected"),
    [
        (25, 1000, 2),  # 2.5 -> 2 (half to even)
        (35, 1000, 4),  # 3.5 -> 4
        (15, 1000, 2),  # 1.5 -> 2
        (1999, 1250, 250),  # 249.875 -> 250
        (1, 5000, 0),  # 0.5 -> 0
        (3, 5000, 2),  # 1.5 -> 2
        (100, 0, 0),
        (100, 10_000, 100),
    ],
)
def test_commission_rounds_half_even_to_the_minor_unit(minor, bp, expected):
    assert basis_points_of(minor, bp) == expected


def test_purchase_with_affiliate_leaves_the_rounding_remainder_with_the_vendor():
    # 10.01 EUR at 12.5 %: 125.125 cents -> 125 to the affiliate, 876 to the vendor.
    assert purchase(1, 2, 3, "EUR", 1001, 1250) == [
        Move(1, "EUR", -1001),
        Move(2, "EUR", 876),
        Move(3, "EUR", 125),
    ]


def test_purchase_without_affiliate_pays_the_vendor_the_whole_price():
    assert purchase(1, 2, None, "USD", 500, 1250) == [
        Move(1, "USD", -500),
        Move(2, "USD", 500),
    ]


def test_merged_sums_per_account_and_drops_zeros():
    postings = [Move(1, "EUR", -5), Move(2, "EUR", 5), Move(2, "EUR", -5)]
    assert merged(postings) == [Move(1, "EUR", -5)]


@given(users, users, st.one_of(st.none(), users), amounts, st.integers(0, 10_000))
def test_purchase_postings_sum_to_zero_and_credit_no_one_negatively(
    buyer, vendor, affiliate, price, bp
):
    postings = purchase(buyer, vendor, affiliate, "NXC", price, bp)
    assert sum(p.amount for p in postings) == 0
    assert all(p.amount != 0 for p in postings)
    assert len({p.user_id for p in postings}) == len(postings)
    credits = {p.user_id: p.amount for p in postings if p.user_id != buyer}
    assert all(amount > 0 for amount in credits.values())
    if affiliate is not None and affiliate not in (buyer, vendor):
        assert credits.get(affiliate, 0) == basis_points_of(price, bp)
