"""What the service actors share: their base class, id checks and outage handling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from actors.errors import DomainError, NotFound, Unavailable
from bitnexus.database.schema import MAX_ID
from supervisors import Rejected, Worker


class Service(Worker):
    """A service actor: the domain's outcomes are replies, like the runtime's `Rejected`."""

    replies = (Rejected, DomainError)


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
