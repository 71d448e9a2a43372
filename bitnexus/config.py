"""Application configuration, read from the environment in exactly one place.

Each `BITNEXUS_` setting wins; the conventional (Phoenix, twelve-factor) names
`DATABASE_URL`, `PORT`, `HOST` and `SECRET_KEY_BASE` are read when it is unset. A `.env`
file in the working directory fills in what the environment does not set (`load_dotenv`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # the domain imports this module: its own modules are imported late
    from bitnexus.ledger.limits import Limit

import dotenv
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

T = TypeVar("T")

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("json", "console")
DEFAULT_CURRENCIES: Mapping[str, int] = MappingProxyType({"EUR": 2, "USD": 2, "NXC": 8})


class ConfigError(ValueError):
    """An environment variable holds a value we cannot use."""


def default_database_url(cwd: Path | None = None) -> str:
    """The embedded SQLite file `var/bitnexus.db` under the working directory."""
    base = (cwd or Path.cwd()).resolve()
    return f"sqlite:///{base / 'var' / 'bitnexus.db'}"


def load_dotenv(cwd: Path | None = None) -> None:
    """Add the variables of `.env` in the working directory that the environment lacks."""
    path = (cwd or Path.cwd()) / ".env"
    if path.is_file():
        dotenv.load_dotenv(path, override=False)


@dataclass(frozen=True)
class Config:
    """Everything the application needs to know about its environment."""

    database_url: str
    host: str = "127.0.0.1"
    port: int = 4000
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout: float = 10.0
    accounts_pool_size: int = 4
    products_pool_size: int = 4
    # One Transactions worker per request thread (`serve --threads`, 16): each waits on
    # the ledger while its transfer is in a block, so a smaller pool caps the block size
    # (BENCHMARKS.md: ~215 transfers/s over HTTP with 4 workers, ~450 with 16).
    transactions_pool_size: int = 16
    ledger_batch_max: int = 256
    ledger_verify_tail: int = 100
    # Ledger reads in parallel; one long verify_chain occupies one reader.
    ledger_readers_pool_size: int = 4
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
    cors_origins: tuple[str, ...] = ()
    log_level: str = "info"
    log_format: str = "json"  # or "console": readable lines for a terminal (`make run`)
    socket_idle_timeout: float = 60.0  # seconds a silent socket is kept open (Phoenix's)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Build a config from `environ`; raises ConfigError naming a bad variable."""
        env = _Env(environ)
        currencies = env.get("BITNEXUS_CURRENCIES", _currencies, DEFAULT_CURRENCIES)
        return cls(
            database_url=env.get(
                ("BITNEXUS_DATABASE_URL", "DATABASE_URL"), _database_url, default_database_url()
            ),
            host=env.get(("BITNEXUS_HOST", "HOST"), str, "127.0.0.1"),
            port=env.get(("BITNEXUS_PORT", "PORT"), port_number, 4000),
            db_pool_size=env.get("BITNEXUS_DB_POOL_SIZE", _positive_int, 10),
            db_max_overflow=env.get("BITNEXUS_DB_MAX_OVERFLOW", _non_negative_int, 10),
            db_pool_timeout=env.get("BITNEXUS_DB_POOL_TIMEOUT", _positive_float, 10.0),
            accounts_pool_size=env.get("BITNEXUS_ACCOUNTS_POOL", _positive_int, 4),
            products_pool_size=env.get("BITNEXUS_PRODUCTS_POOL", _positive_int, 4),
            transactions_pool_size=env.get("BITNEXUS_TRANSACTIONS_POOL", _positive_int, 16),
            ledger_batch_max=env.get("BITNEXUS_LEDGER_BATCH_MAX", _positive_int, 256),
            ledger_verify_tail=env.get("BITNEXUS_LEDGER_VERIFY_TAIL", _non_negative_int, 100),
            ledger_readers_pool_size=env.get("BITNEXUS_LEDGER_READERS", _positive_int, 4),
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
            secret_key=env.get(("BITNEXUS_SECRET_KEY", "SECRET_KEY_BASE"), str, None),
            ledger_signing_key=env.get("BITNEXUS_LEDGER_SIGNING_KEY", _seed, None),
            admin_token=env.get("BITNEXUS_ADMIN_TOKEN", str, None),
            cors_origins=env.get("BITNEXUS_CORS_ORIGINS", _origins, ()),
            log_level=env.get("BITNEXUS_LOG_LEVEL", _choice(LOG_LEVELS), "info"),
            log_format=env.get("BITNEXUS_LOG_FORMAT", _choice(LOG_FORMATS), "json"),
            socket_idle_timeout=env.get("BITNEXUS_SOCKET_IDLE_TIMEOUT", _positive_float, 60.0),
        )


class _Env:
    """Typed access to environment variables; empty counts as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, names: str | tuple[str, ...], parse: Callable[[str], T], default: T) -> T:
        """The first of `names` that is set, parsed; `default` when none is."""
        for name in (names,) if isinstance(names, str) else names:
            raw = self._environ.get(name, "").strip()
            if raw:
                try:
                    return parse(raw)
                except ValueError as exc:
                    raise ConfigError(f"{name}={_shown(name, raw)} is invalid: {exc}") from None
        return default


def _shown(name: str, raw: str) -> str:
    """The value for an error message, with a database URL's password masked."""
    if "DATABASE_URL" in name:
        return repr(re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", raw))
    return repr(raw)


# The schemes a database URL may use; the bare PostgreSQL names mean psycopg 3.
_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def _database_url(raw: str) -> str:
    """A SQLAlchemy URL for `sqlite:` or PostgreSQL (`postgres://`, `postgresql://` too)."""
    scheme = raw.partition("://")[0]
    if scheme not in _DRIVERS:
        supported = "sqlite:///PATH, postgresql://USER@HOST/DB or postgres://USER@HOST/DB"
        raise ValueError(f"unsupported scheme {scheme!r}: expected {supported}")
    normalized = _DRIVERS[scheme] + raw[len(scheme) :]
    try:
        url = make_url(normalized)
        url.port  # noqa: B018  # a non-numeric port raises only when read
    except (ArgumentError, ValueError):
        raise ValueError("not a database URL") from None
    if url.get_backend_name() == "postgresql" and not url.database:
        raise ValueError("names no database (postgresql://USER@HOST/DB)")
    return normalized


def _origins(raw: str) -> tuple[str, ...]:
    """`http://localhost:8000,https://app.example` (scheme://host[:port]) or `*`."""
    origins = tuple(item.strip().rstrip("/") for item in raw.split(",") if item.strip())
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ValueError(f"{origin!r} is not an origin like http://localhost:8000 or *")
    return origins


def _choice(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return raw.lower()

    return parse


def port_number(raw: str) -> int:
    """A TCP port, 1 to 65535."""
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be a port number between 1 and 65535")
    return value


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
