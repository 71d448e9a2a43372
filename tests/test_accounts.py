"""The Accounts service, through actor messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from actors.accounts import (
    Authenticate,
    CreateUser,
    DeleteUser,
    GetUser,
    GetUserProducts,
    ListUsers,
    UpdateUser,
)
from actors.errors import NotFound, Unauthorized, Unavailable, ValidationFailed
from actors.products import CreateProduct
from bitnexus.accounts import User
from bitnexus.common.pagination import Page, encode_cursor
from bitnexus.database.schema import users
from supervisors import ActorCrashed, Crash, call, walk

PASSWORD = "correct horse battery"


def accounts(message):
    return call("accounts", message, timeout=10.0)


def errors_of(message) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        accounts(message)
    return info.value.errors


def valid(**overrides):
    return {"email": "ada@example.com", "name": "Ada", "password": PASSWORD, **overrides}


def create(**overrides):
    return accounts(CreateUser(valid(**overrides)))


# ---------------------------------------------------------------- create: valid


def test_create_returns_the_user_without_password(services):
    user = create(email="  Ada@Example.com ")
    fields = {f.name for f in dataclasses.fields(user)}
    assert fields == {"id", "email", "name", "role", "inserted_at", "updated_at"}
    assert isinstance(user.id, int)
    assert user.email == "Ada@Example.com"  # trimmed, case kept
    assert user.name == "Ada"
    assert user.role == "user"
    assert user.inserted_at.tzinfo == UTC and user.inserted_at == user.updated_at
    assert accounts(GetUser(user.id)) == user


@pytest.mark.parametrize("role", ["user", "affiliate", "admin"])
def test_every_role_is_accepted(services, role):
    assert create(role=role).role == role


def test_limits_are_inclusive(services):
    email = "a" * 150 + "@" + "b" * 9  # 160 characters
    user = create(email=email, name="n" * 100, password="p" * 12)
    assert user.email == email and user.name == "n" * 100


def test_unknown_fields_and_id_are_ignored(services):
    user = create(id=999, admin=True, password_hash="x", inserted_at="2000-01-01")
    assert user.id != 999
    assert user.inserted_at.year != 2000


# ---------------------------------------------------------------- create: invalid


def test_missing_fields_are_blank(services):
    assert errors_of(CreateUser({})) == {
        "email": ["can't be blank"],
        "name": ["can't be blank"],
        "password": ["can't be blank"],
    }


def test_null_and_whitespace_are_blank(services):
    errors = errors_of(CreateUser({"email": "   ", "name": None, "password": "", "role": None}))
    assert errors == {
        "email": ["can't be blank"],
        "name": ["can't be blank"],
        "password": ["can't be blank"],
        "role": ["can't be blank"],
    }


@pytest.mark.parametrize(
    "field, value",
    [
        ("email", 42),
        ("email", ["a@b"]),
        ("name", {"first": "Ada"}),
        ("name", True),
        ("password", 123456789012),
        ("role", "superuser"),
        ("role", "Admin"),
        ("role", 1),
    ],
)
def test_wrong_type_or_value_is_only_invalid(services, field, value):
    assert errors_of(CreateUser(valid(**{field: value}))) == {field: ["is invalid"]}


@pytest.mark.parametrize("email", ["no-at-sign", "a b@example.com", "@", "a@", "@b", "a@b c"])
def test_email_format(services, email):
    assert errors_of(CreateUser(valid(email=email))) == {"email": ["has invalid format"]}


def test_too_long_values(services):
    errors = errors_of(
        CreateUser({"email": "a" * 151 + "@" + "b" * 9, "name": "n" * 101, "password": "x" * 11})
    )
    assert errors == {
        "email": ["should be at most 160 character(s)"],
        "name": ["should be at most 100 character(s)"],
        "password": ["should be at least 12 character(s)"],
    }


def test_one_value_can_break_several_rules(services):
    errors = errors_of(CreateUser(valid(email="x" * 161)))
    assert errors == {"email": ["has invalid format", "should be at most 160 character(s)"]}


# ---------------------------------------------------------------- uniqueness


def test_email_is_unique_case_insensitively(services):
    create(email="ada@example.com")
    assert errors_of(CreateUser(valid(email=" ADA@example.COM"))) == {
        "email": ["has already been taken"]
    }


def test_uniqueness_only_when_everything_else_passed(services):
    create(email="ada@example.com")
    assert errors_of(CreateUser(valid(email="ADA@example.com", password="short"))) == {
        "password": ["should be at least 12 character(s)"]
    }


def test_concurrent_creates_of_one_email_make_one_user(services, engine):
    barrier = threading.Barrier(8)

    def attempt(i):
        barrier.wait()
        try:
            return accounts(CreateUser(valid(email=f"{'RACE' if i % 2 else 'race'}@x.io")))
        except ValidationFailed as exc:
            return exc.errors

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    created = [o for o in outcomes if isinstance(o, User)]
    assert len(created) == 1
    refused = [o for o in outcomes if not isinstance(o, User)]
    assert refused == [{"email": ["has already been taken"]}] * 7
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 1


# ---------------------------------------------------------------- passwords


def test_password_is_stored_only_as_an_argon2id_hash(services, engine):
    user = create()
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == user.id)).mappings().one()
    assert row["password_hash"].startswith("$argon2id$")
    assert all(PASSWORD not in str(value) for value in row.values())
    for reply in (user, accounts(GetUser(user.id)), accounts(ListUsers()).items[0]):
        assert not {"password", "password_hash"} & {f.name for f in dataclasses.fields(reply)}
    assert PASSWORD not in repr(CreateUser(valid()))


def test_authenticate(services):
    user = create(email="Ada@Example.com")
    assert accounts(Authenticate("  ada@example.COM", PASSWORD)) == user
    for email, password in [
        ("ada@example.com", PASSWORD + "!"),
        ("nobody@example.com", PASSWORD),
        (None, PASSWORD),
        ("ada@example.com", None),
        (42, []),
    ]:
        with pytest.raises(Unauthorized):
            accounts(Authenticate(email, password))


# ---------------------------------------------------------------- read, update, delete


def test_get_unknown_user_is_not_found(services):
    for user_id in (12345, 0, -1, "1", None, True, 2**31, 2**70):
        with pytest.raises(NotFound):
            accounts(GetUser(user_id))


def test_update_is_partial_and_validated(services):
    user = create()
    updated = accounts(UpdateUser(user.id, {"name": "Ada L.", "unknown": 1}))
    assert updated.name == "Ada L." and updated.email == user.email
    assert errors_of(UpdateUser(user.id, {"name": " ", "email": "bad", "role": "x"})) == {
        "name": ["can't be blank"],
        "email": ["has invalid format"],
        "role": ["is invalid"],
    }
    assert errors_of(UpdateUser(user.id, {"password": None})) == {"password": ["can't be blank"]}
    assert accounts(GetUser(user.id)).name == "Ada L."


def test_update_password_and_email(services):
    user = create()
    other = create(email="bob@example.com")
    assert errors_of(UpdateUser(user.id, {"email": "BOB@example.com"})) == {
        "email": ["has already been taken"]
    }
    updated = accounts(UpdateUser(user.id, {"email": "ADA@example.com"}))  # own, new case
    assert updated.email == "ADA@example.com"
    accounts(UpdateUser(user.id, {"password": "a new long password"}))
    assert accounts(Authenticate("ada@example.com", "a new long password")).id == user.id
    with pytest.raises(Unauthorized):
        accounts(Authenticate("ada@example.com", PASSWORD))
    assert accounts(GetUser(other.id)).email == "bob@example.com"


def test_update_unknown_user_is_not_found(services):
    with pytest.raises(NotFound):
        accounts(UpdateUser(777, {"name": "x"}))


def test_delete(services):
    user = create()
    assert accounts(DeleteUser(user.id)) is None
    with pytest.raises(NotFound):
        accounts(GetUser(user.id))
    with pytest.raises(NotFound):
        accounts(DeleteUser(user.id))
    create()  # the email is free again


def test_list_users_pages_in_id_order(services):
    ids = [create(email=f"u{i}@example.com").id for i in range(5)]
    first = accounts(ListUsers({"limit": 2}))
    second = accounts(ListUsers({"limit": 2, "cursor": first.next_cursor}))
    third = accounts(ListUsers({"limit": 2, "cursor": second.next_cursor}))
    assert [u.id for u in first.items + second.items + third.items] == ids
    assert third.next_cursor is None
    assert accounts(ListUsers()).next_cursor is None
    too_far = encode_cursor("users", 2**31)
    assert errors_of(ListUsers({"cursor": too_far})) == {"cursor": ["is invalid"]}
    assert errors_of(ListUsers({"limit": 101, "cursor": "nope"})) == {
        "limit": ["must be less than or equal to 100"],
        "cursor": ["is invalid"],
    }


def test_get_user_products_asks_the_products_service(services):
    vendor = create()
    other = create(email="other@example.com")
    product = call(
        "products", CreateProduct({"name": "Lamp", "price": "19.99", "created_by": vendor.id})
    )
    call("products", CreateProduct({"name": "Desk", "price": "5", "created_by": other.id}))
    page = accounts(GetUserProducts(vendor.id))
    assert page == Page((product,))
    with pytest.raises(NotFound):
        accounts(GetUserProducts(4242))


# ---------------------------------------------------------------- failures


def test_crash_mid_workload_loses_and_duplicates_nothing(services, engine):
    """Callers of the crashed incarnation get ActorCrashed; the restarted one serves."""
    some_done = threading.Event()
    done_count = 0
    lock = threading.Lock()

    def worker(t):
        nonlocal done_count
        outcomes = []
        for i in range(15):
            email = f"w{t}-{i}@example.com"
            try:
                outcomes.append((email, accounts(CreateUser(valid(email=email))).id))
            except ActorCrashed:
                outcomes.append((email, None))
            with lock:
                done_count += 1
                if done_count == 10:
                    some_done.set()
        return outcomes

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(worker, t) for t in range(4)]
        assert some_done.wait(30)
        with pytest.raises(ActorCrashed):
            call("accounts", Crash("test"), timeout=10.0)
        outcomes = [o for f in futures for o in f.result()]

    succeeded = {email: uid for email, uid in outcomes if uid is not None}
    crashed = [email for email, uid in outcomes if uid is None]
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(users.c.email, users.c.id)).all())
    assert set(succeeded.items()) <= set(rows.items())  # nothing committed was lost
    assert set(rows) <= set(succeeded) | set(crashed)  # nothing appeared from nowhere
    for email in crashed:  # a caller that saw ActorCrashed can retry safely
        if email not in rows:
            create(email=email)
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar()
    assert count == len(outcomes)  # each email exactly once
    assert accounts(GetUser(next(iter(succeeded.values())))).id in succeeded.values()
    services.log.wait_for(lambda e: e.kind == "child_restarted", timeout=10)
    node = _find(services.tree(), "accounts")
    assert node["restarts"]["total"] == 1  # the pool restarted the one member that crashed
    assert sorted(c["restarts"]["total"] for c in node["children"])[-2:] == [0, 1]


def test_crash_inside_a_transaction_rolls_it_back(services, engine):
    """A handler that dies between BEGIN and COMMIT leaves no row and no broken pool."""
    create(email="before@example.com")

    def explode(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT") and "doomed@example.com" in str(
            parameters
        ):
            raise RuntimeError("crash inside the transaction")

    event.listen(engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(ActorCrashed) as info:
            create(email="doomed@example.com")
        assert isinstance(info.value.__cause__, RuntimeError)
    finally:
        event.remove(engine, "before_cursor_execute", explode)
    with engine.connect() as conn:
        emails = conn.execute(sa.select(users.c.email).order_by(users.c.id)).scalars().all()
    assert emails == ["before@example.com"]
    assert create(email="doomed@example.com").email == "doomed@example.com"


def test_get_user_products_when_products_crashes_is_unavailable(services, engine):
    """The dependency's crash is the caller's 503, not a crash of Accounts too."""
    vendor = create()

    def explode(conn, cursor, statement, parameters, context, executemany):
        if "FROM products" in statement:
            raise RuntimeError("products dies")

    event.listen(engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(Unavailable):
            accounts(GetUserProducts(vendor.id))
    finally:
        event.remove(engine, "before_cursor_execute", explode)
    assert accounts(GetUserProducts(vendor.id)) == Page(())


def _find(node, child_id):
    return next((n for n in walk(node) if n["id"] == child_id), None)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_terminated_database_connections_are_replaced(services, terminate_backends):
    user = create()
    assert terminate_backends() >= 1
    seq = services.log.last_seq
    # A connection back in use within PING_AFTER_IDLE is not pinged: its statement may fail
    # as a lost connection (503, never a crash), and the pool then replaces it.
    with suppress(Unavailable):
        accounts(GetUser(user.id))
    assert accounts(GetUser(user.id)).id == user.id
    assert services.events(seq) == []  # nothing crashed
    assert create(email="after@example.com").id > user.id


@pytest.mark.parametrize("backend", ["postgresql"])
def test_connection_killed_inside_a_transaction_fails_cleanly(services, engine, terminate_backends):
    """The backend dies while the service holds the connection mid-transaction."""
    user = create()
    with backend_killed_before(engine, "UPDATE", terminate_backends) as killed:
        outcome = None
        try:
            outcome = accounts(UpdateUser(user.id, {"name": "Killed"}))
        except Unavailable as exc:  # a 503, never a crash
            outcome = exc
        assert killed.is_set()
    assert isinstance(outcome, Unavailable) or outcome.name == "Killed"
    assert accounts(UpdateUser(user.id, {"name": "Again"})).name == "Again"


@contextmanager
def backend_killed_before(engine, verb, terminate):
    """Kill the database backends just before the first `verb` statement is sent."""
    killed = threading.Event()

    def before(conn, cursor, statement, parameters, context, executemany):
        if not killed.is_set() and statement.lstrip().upper().startswith(verb):
            killed.set()
            terminate()

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield killed
    finally:
        event.remove(engine, "before_cursor_execute", before)
