"""Engine construction: the same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext, make_url
from sqlalchemy.pool import Pool

from bitnexus.config import Config

SQLITE_BUSY_TIMEOUT_MS = 10_000
PING_AFTER_IDLE = 1.0  # seconds a pooled connection may idle before it is pinged on checkout
_SQLITE_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
# When a connection of each pool was last found disconnected (time.monotonic()).
_DISCONNECTED: weakref.WeakKeyDictionary[Pool, float] = weakref.WeakKeyDictionary()


def make_engine(config: Config) -> Engine:
    """Create the engine for `config.database_url` (sqlite or postgresql+psycopg)."""
    url = make_url(config.database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, config)
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
        engine = sa.create_engine(
            url,
            pool_size=_pool_size(config),
            max_overflow=config.db_max_overflow,
            pool_timeout=config.db_pool_timeout,
            hide_parameters=True,  # crash logs must not print users' password hashes
            # psycopg answers a timestamptz in the session's zone, which UTCDateTime
            # converts back to UTC. In a session in UTC itself (not merely a zone equal to
            # it, like Etc/UTC) psycopg returns datetime.UTC and neither side converts:
            # ~0.6 us saved per value. Set at connect, so it costs no round trip. No query
            # of ours depends on the session's zone.
            connect_args={"options": "-c TimeZone=UTC"},
        )
        _ping_when_idle(engine)
        _note_disconnects(engine)
        return engine
    raise ValueError(f"unsupported database URL scheme: {url.drivername}")


def _pool_size(config: Config) -> int:
    # Every member of these pools keeps a connection for its reads (`held.HeldReads`) once
    # it has read: the pool's configured size is what everything else shares.
    held = config.accounts_pool_size + config.products_pool_size + config.ledger_readers_pool_size
    return config.db_pool_size + held


def pool_stats(engine: Engine) -> dict[str, int]:
    """The connection pool's state for the metrics; empty for a pool without a size."""
    pool = engine.pool
    if not isinstance(pool, sa.QueuePool):
        return {}
    # Threads blocked in checkout wait on the pool queue's condition; SQLAlchemy has no
    # public count of them, so it is read from the condition (0 if that ever changes).
    waiters = getattr(getattr(getattr(pool, "_pool", None), "not_empty", None), "_waiters", ())
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "checked_in": pool.checkedin(),
        "overflow": max(0, pool.overflow()),  # negative while the pool is still filling
        "waiting": len(waiters),
    }


# What reads of one statement each take their connection from: `reads_of(engine)`, or a
# connection kept between reads (`bitnexus.database.held.HeldReads.reading`).
Reading = Callable[[], AbstractContextManager[Connection]]


def reads_of(engine: Engine) -> Reading:
    """`reading` from ``engine``'s pool, one checkout per read."""
    return partial(reading, engine)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads of one statement each (or of rows that never change).

    On PostgreSQL in autocommit: a statement is one round trip, with no BEGIN and no
    COMMIT around it. On SQLite a deferred read transaction, which does not take the
    write lock. Reads that need one snapshot across statements use a transaction.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
            return
        conn = conn.execution_options(sqlite_begin="DEFERRED")
        with conn.begin():
            yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent state of every table."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:  # SQLite in WAL mode: a deferred read transaction is a snapshot
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        with conn.begin():
            yield conn


def _sqlite_engine(url: URL, config: Config) -> Engine:
    database = url.database or ""
    pool_args: dict[str, Any] = {}
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        pool_args = {
            "pool_size": _pool_size(config),
            "max_overflow": config.db_max_overflow,
            "pool_timeout": config.db_pool_timeout,
        }
    engine = sa.create_engine(
        url,
        hide_parameters=True,  # errors in logs must not carry password hashes or emails
        connect_args={"check_same_thread": False},  # pooled across actor threads
        **pool_args,
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    _ping_when_idle(engine)
    _note_disconnects(engine)
    return engine


def alive(conn: Connection) -> bool:
    """Whether the connection answers a ping (one round trip), as the pool's checkout
    asks of a connection that idled (`_ping_when_idle`)."""
    dialect = conn.dialect
    try:
        dialect.do_ping(conn.connection.dbapi_connection)
    except dialect.loaded_dbapi.Error:
        return False
    return True


def last_disconnect(engine: Engine) -> float:
    """When a connection of the engine's pool was last found disconnected
    (`time.monotonic()`; 0.0 if never): every connection older than that is suspect."""
    return _DISCONNECTED.get(engine.pool, 0.0)


def _note_disconnects(engine: Engine) -> None:
    # SQLAlchemy then invalidates the pool: connections older than this one are replaced
    # at their next checkout. A connection a pool member keeps checked out for its reads
    # (`held.HeldReads`) is not checked out again: it learns of the loss here.
    def handle_error(context: ExceptionContext) -> None:
        if context.is_disconnect and context.invalidate_pool_on_disconnect:
            _DISCONNECTED[engine.pool] = time.monotonic()

    event.listen(engine, "handle_error", handle_error)


def _ping_when_idle(engine: Engine) -> None:
    """Pre-ping a pooled connection only when it sat idle for a while.

    A connection back in use within PING_AFTER_IDLE seconds saves the round trip; one that
    idled (across an outage or a server restart, say) is checked first and, when dead,
    replaced. A connection that dies in between fails its statement as a lost connection
    (503, a retry is safe), and the pool then replaces every connection older than it.
    """
    dialect = engine.dialect

    def checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError() from exc  # the pool connects afresh

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def _sqlite_on_connect(dbapi_conn: Any, _record: object) -> None:
    # Take over transaction control from pysqlite so BEGIN is explicit (see _sqlite_on_begin).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints under WAL
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that later writes can
    # fail with SQLITE_BUSY at once (busy_timeout does not apply to lock upgrades).
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    if mode not in _SQLITE_BEGIN_MODES:
        raise ValueError(f"sqlite_begin must be one of {sorted(_SQLITE_BEGIN_MODES)}")
    conn.exec_driver_sql(f"BEGIN {mode}")
