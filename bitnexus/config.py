"""Application configuration, read from the environment in exactly one place."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # the domain imports this module: its own modules are imported late
    from bitnexus.ledger.limits import Limit

T = TypeVar("T")

DEFAULT_CURRENCIES: Mapping[str, int] = MappingProxyType({"EUR": 2, "USD": 2, "NXC": 8})


class ConfigError(ValueError):
    """An environment variable holds a value we cannot use."""


def default_database_url(cwd: Path | None = None) -> str:
    """The embedded SQLite file `var/bitnexus.db` under the working directory."""
    base = (cwd or Path.cwd()).resolve()
    return f"sqlite:///{base / 'var' / 'bitnexus.db'}"


@dataclass(frozen=True)
class Config:
    """Everything the application needs to know about its environment."""

    database_url: str
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout: float = 10.0
    accounts_pool_size: int = 4
    products_pool_size: int = 4
    # One Transactions worker per request thread (`serve --threads`, 16): each waits on
    # the ledger while its transfer is in a block, so a smaller pool caps the block size
    # (BENCHMARKS.md: 4 workers gave ~215 transfers/s over HTTP, 16 gave ~450).
    transactions_pool_size: int = 16
    ledger_batch_max: int = 256
    ledger_verify_tail: int = 100
    ledger_checkpoint_every: int = 1000  # blocks between signed checkpoints
    call_timeout: float = 5.0
    max_queue_wait: float = 0.25  # seconds a request may wait for a thread before a 503
    currencies: Mapping[str, int] = field(default_factory=lambda: DEFAULT_CURRENCIES, hash=False)
    # Per currency, in minor units: the most per transaction and per wallet.
    limits: Mapping[str, Limit] = field(
        default_factory=lambda: _limits(None, DEFAULT_CURRENCIES), hash=False
    )
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536  # KiB; the argon2-cffi / RFC 9106 "low memory" profile
    argon2_parallelism: int = 4
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR networks); none by default.
    trusted_proxies: tuple[str, ...] = ()
    secret_key: str | None = field(default=None, repr=False)
    # The Ed25519 seed (64 hex digits) that signs checkpoints; kept out of the database.
    ledger_signing_key: str | None = field(default=None, repr=False)
    admin_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Build a config from `environ`; raises ConfigError naming a bad variable."""
        env = _Env(environ)
        currencies = env.get("BITNEXUS_CURRENCIES", _currencies, DEFAULT_CURRENCIES)
        return cls(
            database_url=env.get("BITNEXUS_DATABASE_URL", str, default_database_url()),
            db_pool_size=env.get("BITNEXUS_DB_POOL_SIZE", _positive_int, 10),
            db_max_overflow=env.get("BITNEXUS_DB_MAX_OVERFLOW", _non_negative_int, 10),
            db_pool_timeout=env.get("BITNEXUS_DB_POOL_TIMEOUT", _positive_float, 10.0),
            accounts_pool_size=env.get("BITNEXUS_ACCOUNTS_POOL", _positive_int, 4),
            products_pool_size=env.get("BITNEXUS_PRODUCTS_POOL", _positive_int, 4),
            transactions_pool_size=env.get("BITNEXUS_TRANSACTIONS_POOL", _positive_int, 16),
            ledger_batch_max=env.get("BITNEXUS_LEDGER_BATCH_MAX", _positive_int, 256),
            ledger_verify_tail=env.get("BITNEXUS_LEDGER_VERIFY_TAIL", _non_negative_int, 100),
            ledger_checkpoint_every=env.get(
                "BITNEXUS_LEDGER_CHECKPOINT_EVERY", _positive_int, 1000
            ),
            call_timeout=env.get("BITNEXUS_CALL_TIMEOUT", _positive_float, 5.0),
            max_queue_wait=env.get("BITNEXUS_MAX_QUEUE_WAIT", _positive_float, 0.25),
            currencies=currencies,
            limits=env.get(
                "BITNEXUS_LIMITS",
                lambda raw: _limits(raw, currencies),
                _limits(None, currencies),
            ),
            argon2_time_cost=env.get("BITNEXUS_ARGON2_TIME_COST", _positive_int, 3),
            argon2_memory_cost=env.get("BITNEXUS_ARGON2_MEMORY_COST", _positive_int, 65536),
            argon2_parallelism=env.get("BITNEXUS_ARGON2_PARALLELISM", _positive_int, 4),
            trusted_proxies=env.get("BITNEXUS_TRUSTED_PROXIES", _networks, ()),
            secret_key=env.get("BITNEXUS_SECRET_KEY", str, None),
            ledger_signing_key=env.get("BITNEXUS_LEDGER_SIGNING_KEY", _seed, None),
            admin_token=env.get("BITNEXUS_ADMIN_TOKEN", str, None),
        )


class _Env:
    """Typed access to environment variables; empty counts as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} is invalid: {exc}") from None


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be zero or a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return value


def _limits(raw: str | None, currencies: Mapping[str, int]) -> Mapping[str, Limit]:
    from bitnexus.ledger.limits import parse_limits

    return parse_limits(raw, currencies)


def _seed(raw: str) -> str:
    if len(bytes.fromhex(raw)) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes, 64 hex digits")
    return raw


def _networks(raw: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, each checked."""
    parts = tuple(p.strip() for p in raw.split(",") if p.strip())
    for part in parts:
        ipaddress.ip_network(part, strict=False)  # ValueError names the bad one
    return parts


def _currencies(raw: str) -> Mapping[str, int]:
    """Parse `EUR:2,USD:2,NXC:8` into {code: decimal places}."""
    result: dict[str, int] = {}
    for item in raw.split(","):
        code, sep, places = item.strip().partition(":")
        if not sep or not code.isalpha() or not code.isupper() or len(code) > 8:
            raise ValueError("expected CODE:PLACES[,CODE:PLACES...] with upper-case codes")
        digits = int(places)
        if not 0 <= digits <= 8:  # amounts must fit a 64-bit integer
            raise ValueError(f"decimal places of {code} must be between 0 and 8")
        result[code] = digits
    return MappingProxyType(result)
