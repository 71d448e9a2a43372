"""Decimal amounts <-> integers in a currency's minor units (never floats)."""

from __future__ import annotations

from decimal import Decimal


def to_minor(amount: Decimal, places: int) -> int:
    """19.99 with 2 places -> 1999. The amount must have at most `places` places (exact)."""
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    units = int("".join(map(str, digits)) or "0")
    shift = exponent + places
    if shift >= 0:
        units *= 10**shift
    else:
        units, remainder = divmod(units, 10**-shift)
        if remainder:
            raise ValueError(f"{amount} has more than {places} decimal places")
    return -units if sign else units


def from_minor(units: int, places: int) -> Decimal:
    """1999 with 2 places -> Decimal('19.99')."""
    return Decimal(units).scaleb(-places)


def format_minor(units: int, places: int) -> str:
    """1999 with 2 places -> "19.99"; always exactly `places` decimals, as a NUMERIC would."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"
