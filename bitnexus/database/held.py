"""Reads on a connection kept between them: one per pool member (an actor).

`reading()` checks a connection out of the pool for every read, switches it to autocommit,
and switches it back and checks it in afterwards: about 100 µs of CPU per read, as much
as the primary-key read itself. A pool member that reads on every message keeps one
connection for its life instead, in autocommit once (PostgreSQL) and in a deferred read
transaction per read (SQLite, as `reading()` does). The statements stay SQLAlchemy's, so
both dialects share them.

What the pool does for a connection at checkout is done here before a read: after an
idle spell, or once another connection of the pool was found disconnected (a server
restart ends them all), the connection is pinged and, when dead, replaced; a connection
that fails a read as disconnected is replaced on the next one. The failing read itself
raises as it would through the pool (a database outage is the caller's to answer).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from bitnexus.database.engine import PING_AFTER_IDLE, alive, last_disconnect


class HeldReads:
    """Reads of one statement each for one thread at a time; `close` gives the
    connection back. ``reading`` is a drop-in for `bitnexus.database.engine.reading`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._used = 0.0  # time.monotonic() of the last read that ended

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        conn = self._connection()
        try:
            if conn.dialect.name == "postgresql":
                yield conn
            else:
                with conn.begin():
                    yield conn
        finally:
            if conn.invalidated:  # lost in this read: the next read connects afresh
                self.close()
            self._used = time.monotonic()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> Connection:
        conn = self._conn
        if conn is not None:
            idle = time.monotonic() - self._used > PING_AFTER_IDLE
            stale = idle or self._used < last_disconnect(self._engine)
            if not stale or alive(conn):
                return conn
            conn.invalidate()
            self.close()
        conn = self._engine.connect()
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        else:  # a read must not take SQLite's write lock (`reading` neither)
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        self._conn = conn
        self._used = time.monotonic()
        return conn
