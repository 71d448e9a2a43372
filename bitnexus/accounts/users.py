"""Users: the `User` value, validation rules and persistence behind the Accounts service."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from bitnexus.accounts.passwords import Passwords
from bitnexus.common.changeset import (
    TAKEN,
    Changeset,
    cast_string,
    cast_trimmed_string,
    enum_caster,
)
from bitnexus.common.errors import NotFound, Unauthorized, ValidationFailed
from bitnexus.common.pagination import Page, page, page_request
from bitnexus.common.text import is_text
from bitnexus.database.engine import Reading
from bitnexus.database.schema import USER_ROLES, users, utcnow

EMAIL_FORMAT = re.compile(r"^[^\s]+@[^\s]+$")
EMAIL_MAX = 160
NAME_MAX = 100
PASSWORD_MIN = 12
CURSOR_KIND = "users"
# A user by id: read on every authenticated request (the token check) and more; built
# once, as building a statement costs about as much CPU as executing it.
_BY_ID = sa.select(users).where(users.c.id == sa.bindparam("user_id"))
_DEFAULTS: Mapping[str, object] = {"role": "user"}

DeleteGuard = Callable[[Connection, int], None]


def email_key(email: str) -> str:
    """The case-insensitive identity of an email address (unique in the database)."""
    return email.strip().lower()


@dataclass(frozen=True)
class User:
    """A user as the services answer it: never the password or its hash."""

    id: int
    email: str
    name: str
    role: str
    inserted_at: datetime
    updated_at: datetime


def to_user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        inserted_at=row["inserted_at"],
        updated_at=row["updated_at"],
    )


def to_users(rows: Sequence[RowMapping]) -> list[User]:
    return [to_user(row) for row in rows]


def changeset(params: Mapping[Any, object], data: Mapping[str, object]) -> Changeset:
    """Cast and validate user params over `data` (empty for a new user)."""
    cs = Changeset(params, data)
    cs.cast("email", cast_trimmed_string).cast("name", cast_string)
    cs.cast("password", cast_string).cast("role", enum_caster(USER_ROLES))
    # Role has a default: it is only blank when a caller explicitly blanks it.
    required = ("email", "name", "role") + (() if data.get("id") else ("password",))
    cs.validate_required(*required)
    if data.get("id") and "password" in cs.changes:
        cs.validate_required("password")  # an update may omit it, not blank it
    cs.validate_format("email", EMAIL_FORMAT).validate_length("email", max=EMAIL_MAX)
    cs.validate_length("name", min=1, max=NAME_MAX)
    cs.validate_length("password", min=PASSWORD_MIN)
    return cs


class Users:
    """User records over `engine`; raises the domain's errors for expected outcomes.
    Reads of one statement take their connection from ``reads``."""

    def __init__(self, engine: Engine, passwords: Passwords, reads: Reading) -> None:
        self._engine = engine
        self._passwords = passwords
        self._reads = reads

    def list(self, params: Mapping[str, object]) -> Page[User]:
        cs = Changeset(params, {})
        request = page_request(cs, CURSOR_KIND)
        if not cs.valid:
            raise ValidationFailed(cs.errors)
        query = (
            sa.select(users)
            .where(users.c.id > request.after)
            .order_by(users.c.id)
            .limit(request.limit + 1)
        )
        with self._reads() as conn:
            rows = conn.execute(query).mappings().all()
        return page(CURSOR_KIND, rows, request.limit, to_users)

    def get(self, user_id: int) -> User:
        with self._reads() as conn:
            return to_user(self._fetch(conn, user_id))

    def create(self, params: Mapping[Any, object]) -> User:
        cs = changeset(params, _DEFAULTS)
        if not cs.valid:
            raise ValidationFailed(cs.errors)
        now = utcnow()
        values = {
            "email": cs.get("email"),
            "email_key": email_key(str(cs.get("email"))),
            "name": cs.get("name"),
            "role": cs.get("role"),
            # Hashing is slow: do it before taking a connection and the write lock.
            "password_hash": self._passwords.hash(str(cs.get("password"))),
            "inserted_at": now,
            "updated_at": now,
        }
        with unique_email(), self._engine.begin() as conn:
            row = conn.execute(users.insert().values(values).returning(*users.c)).mappings().one()
        return to_user(row)

    def update(self, user_id: int, params: Mapping[Any, object]) -> User:
        with self._reads() as conn:
            current = self._fetch(conn, user_id)
        cs = changeset(params, current)
        if not cs.valid:
            raise ValidationFailed(cs.errors)
        values: dict[str, object] = {k: v for k, v in cs.changes.items() if k != "password"}
        if "email" in values:
            values["email_key"] = email_key(str(values["email"]))
        if "password" in cs.changes:
            values["password_hash"] = self._passwords.hash(str(cs.changes["password"]))
        if not values:
            return to_user(current)  # nothing changed: Ecto leaves updated_at alone
        values["updated_at"] = utcnow()
        if "role" in values or "password_hash" in values:
            values["token_generation"] = users.c.token_generation + 1  # old tokens end
        query = users.update().where(users.c.id == user_id).values(values).returning(*users.c)
        with unique_email(), self._engine.begin() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            raise NotFound(f"user {user_id}")
        return to_user(row)

    def delete(self, user_id: int, guard: DeleteGuard) -> None:
        """Delete a user; `guard(conn, user_id)` may refuse by raising, inside the transaction."""
        with self._engine.begin() as conn:
            self._fetch(conn, user_id)
            guard(conn, user_id)
            conn.execute(users.delete().where(users.c.id == user_id))

    def authenticate(self, email: object, password: object) -> User:
        """The user whose email and password match; Unauthorized otherwise (same work)."""
        # An email that is not text (a NUL, a lone surrogate) crashes the driver; no
        # stored email holds one.
        key = email_key(email) if isinstance(email, str) and is_text(email) else None
        with self._reads() as conn:
            row = (
                conn.execute(sa.select(users).where(users.c.email_key == key)).mappings().first()
                if key
                else None
            )
        secret = password if isinstance(password, str) else ""
        if not self._passwords.verify(row["password_hash"] if row else None, secret) or not row:
            raise Unauthorized("invalid email or password")
        if self._passwords.needs_rehash(row["password_hash"]):
            self._rehash(row["id"], secret)
        return to_user(row)

    def exists(self, user_id: int) -> bool:
        with self._reads() as conn:
            return (
                conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first() is not None
            )

    def _rehash(self, user_id: int, password: str) -> None:
        """Upgrade a hash made with older cost settings (on a successful login only)."""
        new_hash = self._passwords.hash(password)
        with self._engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(password_hash=new_hash))

    @staticmethod
    def _fetch(conn: Connection, user_id: int) -> RowMapping:
        row = user_row(conn, user_id)
        if row is None:
            raise NotFound(f"user {user_id}")
        return row


def user_row(conn: Connection, user_id: int) -> RowMapping | None:
    """The user's row, token generation and password hash included; None if there is none."""
    return conn.execute(_BY_ID, {"user_id": user_id}).mappings().first()


@contextmanager
def unique_email() -> Iterator[None]:
    """Turn the database's unique-email violation into Ecto's "has already been taken"."""
    try:
        yield
    except IntegrityError as exc:
        if is_unique_email_violation(exc):
            raise ValidationFailed({"email": [TAKEN]}) from exc
        raise


def is_unique_email_violation(exc: IntegrityError) -> bool:
    """Whether `exc` is the users.email_key unique constraint (PostgreSQL or SQLite text)."""
    text = str(exc.orig)
    return "uq_users_email_key" in text or "users.email_key" in text
