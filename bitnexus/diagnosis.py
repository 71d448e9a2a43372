"""One line an operator can act on for the failures a command line meets at start."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import make_url

CREATE_HINT = "create it with `bitnexus db create` (or `bitnexus db setup`)"


def explain(exc: BaseException, database_url: str) -> str | None:
    """The message for an expected start-up failure; None for anything else (a bug)."""
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return _database(str(exc.orig or exc), database_url)
    if isinstance(exc, PermissionError | IsADirectoryError | NotADirectoryError):
        where = exc.filename or "a file"
        return f"cannot write {where}: {exc.strerror or exc} (the folder must be writable)"
    return None


def _database(message: str, database_url: str) -> str:
    url = make_url(database_url)
    first = message.strip().splitlines()[0] if message.strip() else "no answer"
    if url.get_backend_name() == "sqlite":
        if "readonly" in message or "unable to open" in message:
            return (
                f"cannot open the SQLite database {url.database} for writing ({first}); "
                "its folder must be writable (`bitnexus db create` makes it)"
            )
        return f"the SQLite database {url.database} failed: {first}"
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if re.search(r'database "[^"]*" does not exist', message):
        return f"database {url.database!r} does not exist on {where}; {CREATE_HINT}"
    if "authentication failed" in message or re.search(r'role "[^"]*" does not exist', message):
        return f"PostgreSQL at {where} refused the login: {_reason(first)}"
    return f"cannot reach PostgreSQL at {where}: {_reason(first)}"


def _reason(line: str) -> str:
    """psycopg's first line ends with the cause after its last `failed:`."""
    return line.rpartition("failed:")[2].strip().removeprefix("FATAL:").strip() or line
