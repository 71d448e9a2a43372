"""Sessions: the per-user token generation, and rotating refresh tokens.

An access token names its user and the user's `token_generation` when it was issued; it
is honoured only while both still match the database (one primary-key lookup per
request), so a role change, a password change, a deletion or a logout ends it at once on
every process. A refresh token is an opaque random string stored as its SHA-256 digest;
each use retires it for a new one of the same family, and using a retired one again
revokes the whole family (RFC 9700's reuse detection: one of the two holders is a thief).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bitnexus.accounts.users import User, to_user, user_row
from bitnexus.common.errors import Unauthorized
from bitnexus.database.engine import Reading
from bitnexus.database.schema import refresh_tokens, users, utcnow

REFRESH_LIFETIME = dt.timedelta(days=30)
TOKEN_MAX = 200  # longer than any token we issue: refused before hashing


@dataclass(frozen=True)
class Session:
    """What a login or a refresh answers: the user, its generation, a new refresh token."""

    user: User
    generation: int
    refresh_token: str


class Sessions:
    """Generations and refresh tokens over `engine`; raises `Unauthorized` for the rest.
    Reads of one statement take their connection from ``reads``."""

    def __init__(self, engine: Engine, reads: Reading) -> None:
        self._engine = engine
        self._reads = reads

    def authorize(self, user_id: int, generation: int) -> User:
        """The user as they are now, if a token of ``generation`` is still theirs."""
        with self._reads() as conn:
            # The whole row, so the caller's user needs no second read.
            row = user_row(conn, user_id)
        if row is None or row["token_generation"] != generation:
            raise Unauthorized("token no longer valid")
        return to_user(row)

    def start(self, user_id: int) -> Session:
        """A new family for a user who just proved who they are."""
        with self._engine.begin() as conn:
            row = _user(conn, user_id)
            token = _insert(conn, secrets.token_hex(16), row)
        return Session(to_user(row), row["token_generation"], token)

    def refresh(self, token: object) -> Session:
        """Rotate ``token``; a reused, revoked, expired or stale one is Unauthorized."""
        if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX:
            raise Unauthorized("not a refresh token")
        now = utcnow()
        with self._engine.begin() as conn:
            stored = (
                conn.execute(
                    sa.select(refresh_tokens)
                    .where(refresh_tokens.c.token_hash == _digest(token))
                    .with_for_update()
                )
                .mappings()
                .first()
            )
            if stored is None:
                raise Unauthorized("unknown refresh token")
            row = user_row(conn, stored["user_id"])
            usable = (
                stored["used_at"] is None
                and stored["revoked_at"] is None
                and stored["expires_at"] > now
                and row is not None
                and row["token_generation"] == stored["generation"]
            )
            if usable:
                conn.execute(
                    refresh_tokens.update()
                    .where(refresh_tokens.c.id == stored["id"])
                    .values(used_at=now)
                )
                assert row is not None
                token = _insert(conn, stored["family"], row)
                return Session(to_user(row), row["token_generation"], token)
            conn.execute(
                refresh_tokens.update()
                .where(refresh_tokens.c.family == stored["family"])
                .where(refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        raise Unauthorized("refresh token reused, revoked or expired")

    def logout(self, user_id: int) -> None:
        """End every token of the user, access and refresh alike."""
        with self._engine.begin() as conn:
            bumped = users.c.token_generation + 1
            query = users.update().where(users.c.id == user_id)
            conn.execute(query.values(token_generation=bumped))


def _user(conn: Connection, user_id: int) -> Any:
    row = user_row(conn, user_id)
    if row is None:
        raise Unauthorized("no such user")
    return row


def _insert(conn: Connection, family: str, user: Any) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(
        refresh_tokens.insert().values(
            family=family,
            user_id=user["id"],
            token_hash=_digest(token),
            generation=user["token_generation"],
            expires_at=utcnow() + REFRESH_LIFETIME,
        )
    )
    return token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
