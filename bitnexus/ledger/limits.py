"""What one user can do with one currency: the most per transaction, the most in a wallet.

The wallet limit also bounds the world account. A world account's balance is minus the
sum of every wallet of its currency, and there are at most `MAX_ID` users, so with every
wallet at most `BIGINT_MAX // MAX_ID` minor units no legal traffic can drive a world
account past the 64-bit range (a configuration that would allow it is refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from bitnexus.database.schema import BIGINT_MAX, MAX_ID

WALLET_CEILING = BIGINT_MAX // MAX_ID  # minor units: 4 294 967 298
# Major units, for the default currencies; any other currency gets the ceiling for both.
DEFAULTS = {"EUR": ("1000000", "10000000"), "USD": ("1000000", "10000000"), "NXC": ("10", "40")}


@dataclass(frozen=True)
class Limit:
    """In minor units: the largest amount of one transaction, and of one wallet."""

    per_transaction: int
    per_wallet: int


def limit_of(limits: Mapping[str, Limit], currency: str) -> Limit:
    """The currency's limits (the ceiling for a currency configured without any)."""
    return limits.get(currency) or Limit(WALLET_CEILING, WALLET_CEILING)


def parse_limits(raw: str | None, currencies: Mapping[str, int]) -> Mapping[str, Limit]:
    """`EUR:1000000:10000000,NXC:10:40` (major units) over the defaults; ValueError."""
    given = dict(DEFAULTS)
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        code, per_transaction, per_wallet = item.strip().split(":")
        given[code] = (per_transaction, per_wallet)
    limits = {}
    for code, places in currencies.items():
        if code not in given:
            limits[code] = Limit(WALLET_CEILING, WALLET_CEILING)
            continue
        per_transaction, per_wallet = (_minor(v, places) for v in given[code])
        if not 0 < per_transaction <= per_wallet <= WALLET_CEILING:
            ceiling = Decimal(WALLET_CEILING).scaleb(-places)
            raise ValueError(
                f"{code}: need 0 < per-transaction <= per-wallet <= {ceiling} "
                "(the most every user together can hold without a world account overflowing)"
            )
        limits[code] = Limit(per_transaction, per_wallet)
    unknown = set(given) - set(currencies) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"limits for currencies not configured: {sorted(unknown)}")
    return MappingProxyType(limits)


def _minor(major: str, places: int) -> int:
    value = Decimal(major).scaleb(places)
    if value != value.to_integral_value():
        raise ValueError(f"{major} has more than {places} decimal places")
    return int(value)
