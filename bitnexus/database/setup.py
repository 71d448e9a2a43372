"""Create and drop the database a URL names, like `mix ecto.create` / `ecto.drop`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url


def create(database_url: str) -> bool:
    """Create the PostgreSQL database, or the SQLite file (and its folder); False if it
    existed. An empty file is an empty SQLite database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is None or path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return True
    with _maintenance(url) as conn:
        if _pg_exists(conn, url.database):
            return False
        conn.execute(sa.text(f"CREATE DATABASE {_quoted(conn, url.database)}"))
    return True


def drop(database_url: str) -> bool:
    """Drop the PostgreSQL database (closing its connections), or delete the SQLite file."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is None or not path.exists():
            return False
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return True
    with _maintenance(url) as conn:
        if not _pg_exists(conn, url.database):
            return False
        conn.execute(sa.text(f"DROP DATABASE {_quoted(conn, url.database)} WITH (FORCE)"))
    return True


def _sqlite_path(url: URL) -> Path | None:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


@contextmanager
def _maintenance(url: URL) -> Iterator[sa.Connection]:
    """An autocommit connection to the server's `postgres` database, with `url`'s login."""
    engine = sa.create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _pg_exists(conn: sa.Connection, name: str | None) -> bool:
    query = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
    return conn.execute(query, {"name": name}).first() is not None


def _quoted(conn: sa.Connection, name: str | None) -> str:
    return conn.dialect.identifier_preparer.quote(name or "")
