"""The database probe behind `/health`: does the database answer, within a deadline?

On PostgreSQL, ``SELECT 1`` on a connection of its own (autocommit: one round trip, no
pool checkout, no pre-ping), bounded by a connect timeout, a statement timeout and a TCP
user timeout, so a hung server or network can't hold the probe for longer than the
deadline. The connection is replaced after any error. Elsewhere, a pooled connection.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

MIN_CONNECT_TIMEOUT = 2  # libpq's connect_timeout is whole seconds, at least 2


class DatabaseProbe:
    """Callable: returns when the database answered, raises otherwise. One caller at a
    time (the /health prober thread)."""

    def __init__(self, engine: Engine, deadline: float) -> None:
        self._engine = engine
        self._deadline = deadline
        self._conn: psycopg.Connection | None = None
        self._ping: Callable[[], None] = (
            self._ping_own if engine.dialect.name == "postgresql" else self._ping_pooled
        )

    def __call__(self) -> None:
        self._ping()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _ping_pooled(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def _ping_own(self) -> None:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            self._conn.execute("SELECT 1")
        except Exception:
            self.close()
            raise

    def _connect(self) -> psycopg.Connection:
        args, params = self._engine.dialect.create_connect_args(self._engine.url)
        millis = max(1, int(self._deadline * 1000))
        return psycopg.connect(
            *args,
            **params,
            autocommit=True,
            connect_timeout=max(MIN_CONNECT_TIMEOUT, math.ceil(self._deadline)),
            tcp_user_timeout=millis,
            options=f"-c statement_timeout={millis}",
        )
