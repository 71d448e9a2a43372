"""Password hashing: argon2id, cost upgrades on login, equal work for unknown emails."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from actors.errors import Unauthorized
from bitnexus.accounts.passwords import Passwords
from bitnexus.accounts.users import Users
from bitnexus.database.engine import reads_of
from bitnexus.database.schema import users


def test_hash_is_argon2id_and_verifies(config):
    passwords = Passwords(config)
    digest = passwords.hash("a long password")
    assert digest.startswith("$argon2id$")
    assert passwords.verify(digest, "a long password")
    assert not passwords.verify(digest, "a long passworD")
    assert not passwords.verify(None, "a long password")  # decoy: same work, never true
    assert not passwords.verify("not a hash", "x")


def test_login_upgrades_an_old_cost_hash(config, engine):
    old = Users(engine, Passwords(config), reads_of(engine))
    user = old.create({"email": "a@b.c", "name": "A", "password": "a long password"})
    stronger = dataclasses.replace(config, argon2_time_cost=config.argon2_time_cost + 1)
    new = Users(engine, Passwords(stronger), reads_of(engine))
    assert new.authenticate("A@B.C", "a long password").id == user.id
    with engine.connect() as conn:
        digest = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert f"t={stronger.argon2_time_cost}," in digest
    with pytest.raises(Unauthorized):
        new.authenticate("a@b.c", "wrong password")
