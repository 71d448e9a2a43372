"""Money conversion and decimal casting: exact, never through floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitnexus.common.changeset import CastError, cast_decimal, cast_integer, decimal_places
from bitnexus.common.money import format_minor, from_minor, to_minor


@given(units=st.integers(min_value=-(10**18), max_value=10**18), places=st.integers(0, 8))
def test_minor_units_round_trip(units, places):
    assert to_minor(from_minor(units, places), places) == units
    assert Decimal(format_minor(units, places)) == from_minor(units, places)
    assert to_minor(cast_decimal(format_minor(units, places)), places) == units


def test_to_minor_refuses_to_round():
    with pytest.raises(ValueError):
        to_minor(Decimal("1.005"), 2)
    assert to_minor(Decimal("1.0050"), 3) == 1005
    assert to_minor(Decimal("1E+3"), 2) == 100000


@pytest.mark.parametrize(
    "text, places", [("19.99", 2), ("19.990", 2), ("1E+2", 0), ("0.00000001", 8), ("5", 0)]
)
def test_decimal_places_ignore_trailing_zeros(text, places):
    assert decimal_places(Decimal(text)) == places


@pytest.mark.parametrize("value", ["1_000", " 1", "1 ", "NaN", "-Infinity", "", "1.2.3", True])
def test_cast_decimal_rejects(value):
    with pytest.raises(CastError):
        cast_decimal(value)


def test_cast_decimal_of_float_is_its_shortest_text():
    assert cast_decimal(19.99) == Decimal("19.99")


@pytest.mark.parametrize("value", ["1.0", 1.0, "", "١٢", True, None, "9" * 21])
def test_cast_integer_rejects(value):
    with pytest.raises(CastError):
        cast_integer(value)
