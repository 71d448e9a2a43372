"""The first admin: create a user with role `admin`, or promote an existing one."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bitnexus.accounts.passwords import Passwords
from bitnexus.accounts.users import User, Users, email_key
from bitnexus.config import Config
from bitnexus.database.engine import reading, reads_of
from bitnexus.database.schema import users


def create_or_promote(
    config: Config, engine: Engine, email: str, name: str, password: Callable[[], str]
) -> tuple[User, bool]:
    """The admin user and whether it was created (False: an existing user promoted).

    `password` is asked for only when a new user is created. Raises
    `ValidationFailed` for a bad email, name or password.
    """
    accounts = Users(engine, Passwords(config), reads_of(engine))
    with reading(engine) as conn:
        query = sa.select(users.c.id).where(users.c.email_key == email_key(email))
        existing = conn.execute(query).scalar()
    if existing is not None:
        return accounts.update(existing, {"role": "admin"}), False
    attrs = {"email": email, "name": name, "password": password(), "role": "admin"}
    return accounts.create(attrs), True
