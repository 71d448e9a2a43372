"""What the service actors share: their base class, id checks and outage handling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from actors.errors import DomainError, NotFound, Unavailable
from bitnexus.database import MAX_ID
from bitnexus.database.engine import Reading, snapshot
from supervisors import ActorCrashed, CallTimeout, NoProcess, Worker

# A service calling another waits less than its own caller does, so that caller hears
# Unavailable (503), not a timeout of its own.
DEPENDENCY_TIMEOUT_SHARE = 0.8

TASKS = "tasks"  # the application's Task.Supervisor, for lookups that fan out


class Service(Worker):
    """A service actor: the domain's outcomes are replies, like the runtime's `Rejected`."""

    replies = (*Worker.replies, DomainError)


def require_id(value: object, what: str) -> int:
    """A record id; anything else cannot name a record, so it is simply not found."""
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise NotFound(f"{what} {value!r}")
    return value


@contextmanager
def database_outage_as_unavailable() -> Iterator[None]:
    """A lost or refused database connection answers 503 instead of crashing the actor.

    Crashing would not help (the pool replaces dead connections on the next checkout) and
    a crash loop during an outage would take the whole tree down. Other database errors
    are bugs and still crash the actor.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise Unavailable(f"database unavailable: {exc.orig!r}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable(f"database connection lost: {exc.orig!r}") from exc
        raise


def read(engine: Engine, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``query(conn, *args, **kwargs)`` in one snapshot of the database; a database that
    does not answer is Unavailable."""
    with database_outage_as_unavailable(), snapshot(engine) as conn:
        return query(conn, *args, **kwargs)


def read_one(reads: Reading, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``query(conn, *args, **kwargs)`` of one statement, which sees one state by itself:
    no BEGIN and COMMIT around it on PostgreSQL (`reading`), on a connection from
    ``reads``; Unavailable as for `read`."""
    with database_outage_as_unavailable(), reads() as conn:
        return query(conn, *args, **kwargs)


@contextmanager
def dependency(name: str) -> Iterator[None]:
    """A call to the service ``name`` that did not complete is Unavailable (HTTP 503).

    Not known to be done: with an idempotency key, the client's retry is safe.
    """
    try:
        yield
    except (ActorCrashed, CallTimeout, NoProcess) as exc:
        raise Unavailable(f"{name}: {exc}") from exc


def dependency_timeout(call_timeout: float) -> float:
    return call_timeout * DEPENDENCY_TIMEOUT_SHARE
