"""Application configuration, read from the environment in exactly one place."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

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
    call_timeout: float = 5.0
    max_queue_wait: float = 0.25  # seconds a request may wait for a thread before a 503
    currencies: Mapping[str, int] = field(default_factory=lambda: DEFAULT_CURRENCIES, hash=False)
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536  # KiB; the argon2-cffi / RFC 9106 "low memory" profile
    argon2_parallelism: int = 4
    secret_key: str | None = field(default=None, repr=False)
    admin_token: str | None = field(default=None, repr=False)
    socket_idle_timeout: float = 60.0  # seconds a silent socket is kept open (Phoenix's)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Build a config from `environ`; raises ConfigError naming a bad variable."""
        env = _Env(environ)
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
            call_timeout=env.get("BITNEXUS_CALL_TIMEOUT", _positive_float, 5.0),
            max_queue_wait=env.get("BITNEXUS_MAX_QUEUE_WAIT", _positive_float, 0.25),
            currencies=env.get("BITNEXUS_CURRENCIES", _currencies, DEFAULT_CURRENCIES),
            argon2_time_cost=env.get("BITNEXUS_ARGON2_TIME_COST", _positive_int, 3),
            argon2_memory_cost=env.get("BITNEXUS_ARGON2_MEMORY_COST", _positive_int, 65536),
            argon2_parallelism=env.get("BITNEXUS_ARGON2_PARALLELISM", _positive_int, 4),
            secret_key=env.get("BITNEXUS_SECRET_KEY", str, None),
            admin_token=env.get("BITNEXUS_ADMIN_TOKEN", str, None),
            socket_idle_timeout=env.get("BITNEXUS_SOCKET_IDLE_TIMEOUT", _positive_float, 60.0),
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
