"""The postings of each kind of transaction: who is debited and credited, in minor units."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Move:
    """A signed amount on one account: a user's wallet, or the world when ``user_id`` is None."""

    user_id: int | None
    currency: str
    amount: int


def deposit(user_id: int, currency: str, amount: int) -> list[Move]:
    """Money from outside the platform into the user's wallet."""
    return _move(None, user_id, currency, amount)


def withdrawal(user_id: int, currency: str, amount: int) -> list[Move]:
    """Money from the user's wallet out of the platform."""
    return _move(user_id, None, currency, amount)


def transfer(sender_id: int, recipient_id: int, currency: str, amount: int) -> list[Move]:
    return _move(sender_id, recipient_id, currency, amount)


def purchase(
    buyer_id: int,
    vendor_id: int,
    affiliate_id: int | None,
    currency: str,
    price: int,
    commission_bp: int,
) -> list[Move]:
    """The buyer pays ``price``; an affiliate gets ``commission_bp`` basis points of it,
    rounded half-even, and the vendor the rest, rounding remainder included."""
    commission = 0 if affiliate_id is None else basis_points_of(price, commission_bp)
    postings = [
        Move(buyer_id, currency, -price),
        Move(vendor_id, currency, price - commission),
    ]
    if affiliate_id is not None:
        postings.append(Move(affiliate_id, currency, commission))
    return merged(postings)


def basis_points_of(minor: int, basis_points: int) -> int:
    """``basis_points`` / 10000 of ``minor``, rounded half-even to a whole minor unit."""
    return round(Fraction(minor * basis_points, 10_000))  # Fraction's round() is half-even


def merged(postings: Iterable[Move]) -> list[Move]:
    """One posting per account, in first-seen order, without zero amounts."""
    totals: dict[tuple[int | None, str], int] = {}
    for posting in postings:
        key = (posting.user_id, posting.currency)
        totals[key] = totals.get(key, 0) + posting.amount
    return [Move(user, currency, amount) for (user, currency), amount in totals.items() if amount]


def _move(source: int | None, target: int | None, currency: str, amount: int) -> list[Move]:
    return [Move(source, currency, -amount), Move(target, currency, amount)]
