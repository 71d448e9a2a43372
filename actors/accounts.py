"""The Accounts service (registered name `accounts`, a pool): users and authentication.

The client functions at the end are its API, as an OTP module exports one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from actors import products
from actors.client import ask, every
from actors.service import (
    Service,
    database_outage_as_unavailable,
    dependency,
    dependency_timeout,
    require_id,
)
from bitnexus.accounts import Passwords, Session, Sessions, User, Users
from bitnexus.catalog import Product
from bitnexus.common.errors import NotFound, Unauthorized
from bitnexus.common.pagination import Page
from bitnexus.config import Config
from bitnexus.database.held import HeldReads
from bitnexus.ledger import refuse_nonzero_balances

NAME = "accounts"


def _redacted(attrs: Mapping[Any, object]) -> dict[Any, object]:
    return {k: ("[REDACTED]" if k == "password" else v) for k, v in attrs.items()}


@dataclass(frozen=True)
class ListUsers:
    """A page of users in id order; params `limit` (<= 100) and `cursor`."""

    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class GetUser:
    id: int


@dataclass(frozen=True)
class CreateUser:
    attrs: Mapping[Any, object]

    def __repr__(self) -> str:  # messages can end up in crash logs
        return f"CreateUser(attrs={_redacted(self.attrs)!r})"


@dataclass(frozen=True)
class UpdateUser:
    id: int
    attrs: Mapping[Any, object]

    def __repr__(self) -> str:
        return f"UpdateUser(id={self.id!r}, attrs={_redacted(self.attrs)!r})"


@dataclass(frozen=True)
class DeleteUser:
    id: int


@dataclass(frozen=True)
class GetUserProducts:
    """A page of the user's products, from the Products service (NotFound for an unknown
    user). Params as for ListProducts; ``viewer_id`` as there (None: an admin)."""

    user_id: int
    params: Mapping[str, object] = field(default_factory=dict)
    viewer_id: int | None = None


@dataclass(frozen=True)
class Authenticate:
    email: object
    password: object = field(repr=False)


@dataclass(frozen=True)
class Login:
    """Authenticate, then start a session: replies a `bitnexus.accounts.sessions.Session`."""

    email: object
    password: object = field(repr=False)


@dataclass(frozen=True)
class Refresh:
    """Rotate a refresh token: replies a `Session`; Unauthorized for anything else."""

    token: object = field(repr=False)


@dataclass(frozen=True)
class Logout:
    """End every token of the user."""

    user_id: int


@dataclass(frozen=True)
class Authorize:
    """The user as they are now if a token of ``generation`` is still theirs; else
    Unauthorized. One primary-key read: asked on every authenticated request."""

    user_id: int
    generation: int


class Accounts(Service):
    """Users over the database. Caches nothing, so a restarted incarnation is never stale."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._config = config
        self._engine = engine
        self._reads = HeldReads(engine)  # the token check reads on every request
        self._users: Users | None = None
        self._sessions = Sessions(engine, self._reads.reading)

    def init(self) -> None:
        # Argon2 work (the decoy hash) belongs in the actor thread, not the starter's.
        self._users = Users(self._engine, Passwords(self._config), self._reads.reading)

    def terminate(self) -> None:
        self._reads.close()

    def handle(self, message: object) -> object:
        users = self._users
        assert users is not None
        with database_outage_as_unavailable():
            match message:
                case Authorize(user_id=user_id, generation=generation):
                    return self._sessions.authorize(_token_user(user_id), generation)
                case Login(email=email, password=password):
                    return self._sessions.start(users.authenticate(email, password).id)
                case Refresh(token=token):
                    return self._sessions.refresh(token)
                case Logout(user_id=user_id):
                    self._sessions.logout(require_id(user_id, "user"))
                    return None
                case ListUsers(params=params):
                    return users.list(params)
                case GetUser(id=user_id):
                    return users.get(require_id(user_id, "user"))
                case CreateUser(attrs=attrs):
                    return users.create(attrs)
                case UpdateUser(id=user_id, attrs=attrs):
                    return users.update(require_id(user_id, "user"), attrs)
                case DeleteUser(id=user_id):
                    users.delete(require_id(user_id, "user"), self.ensure_deletable)
                    return None
                case GetUserProducts(user_id=user_id, params=params, viewer_id=viewer_id):
                    users.get(require_id(user_id, "user"))
                    return self._products_of(user_id, params, viewer_id)
                case Authenticate(email=email, password=password):
                    return users.authenticate(email, password)
        return super().handle(message)

    def ensure_deletable(self, conn: Connection, user_id: int) -> None:
        """Hook run inside the delete's transaction: raise a domain error to refuse.

        A user who still holds a non-zero balance can't be deleted.
        """
        refuse_nonzero_balances(conn, user_id)

    def _products_of(
        self, user_id: int, params: Mapping[str, object], viewer_id: int | None
    ) -> Page[Product]:
        """The inter-service call of the original design: Products, by name."""
        with dependency(products.NAME):
            return products.page_products_by_user(
                user_id,
                params,
                viewer_id=viewer_id,
                timeout=dependency_timeout(self._config.call_timeout),
            )


def _token_user(user_id: int) -> int:
    try:
        return require_id(user_id, "user")
    except NotFound:
        raise Unauthorized("no such user") from None


# ---------------------------------------------------------------- client functions
# Each waits `timeout` seconds (default: the configured call timeout) and raises the
# domain's error (ValidationFailed, NotFound, …) or the runtime's (CallTimeout,
# NoProcess, ActorCrashed).


def create_user(attrs: Mapping[str, object], *, timeout: float | None = None) -> User:
    return ask(NAME, CreateUser(attrs), timeout)


def get_user(user_id: int, *, timeout: float | None = None) -> User:
    return ask(NAME, GetUser(user_id), timeout)


def update_user(user_id: int, attrs: Mapping[str, object], *, timeout: float | None = None) -> User:
    return ask(NAME, UpdateUser(user_id, attrs), timeout)


def delete_user(user_id: int, *, timeout: float | None = None) -> None:
    ask(NAME, DeleteUser(user_id), timeout)


def list_users(
    params: Mapping[str, object] | None = None,
    /,
    *,
    timeout: float | None = None,
    **filters: object,
) -> Page[User]:
    """Users in id order; filters `limit` (<= 100) and `cursor`, as keywords or as a
    mapping (a request's query parameters)."""
    return ask(NAME, ListUsers({**(params or {}), **filters}), timeout)


def authenticate_user(email: object, password: object, *, timeout: float | None = None) -> User:
    """The user with this email and password; Unauthorized otherwise."""
    return ask(NAME, Authenticate(email, password), timeout)


def get_user_products(user_id: int, *, timeout: float | None = None) -> list[Product]:
    """Every product of the user (NotFound for an unknown user), page after page."""
    return every(lambda params: page_user_products(user_id, params, timeout=timeout))


def page_user_products(
    user_id: int,
    params: Mapping[str, object],
    *,
    viewer_id: int | None = None,
    timeout: float | None = None,
) -> Page[Product]:
    """One page of the user's products, filtered by `params` as `products.list_products`
    is; ``viewer_id`` sees only active products and their own (None: everything)."""
    return ask(NAME, GetUserProducts(user_id, params, viewer_id), timeout)


def authorize(user_id: int, generation: int, *, timeout: float | None = None) -> User:
    """The user as they are now while a token of ``generation`` is still theirs;
    Unauthorized once it is not (role or password changed, logged out, deleted)."""
    return ask(NAME, Authorize(user_id, generation), timeout)


def login(email: object, password: object, *, timeout: float | None = None) -> Session:
    """A new session (its first refresh token) for the user with this email and password."""
    return ask(NAME, Login(email, password), timeout)


def refresh(token: object, *, timeout: float | None = None) -> Session:
    """The next session of ``token``'s family; Unauthorized (and the family revoked) for a
    token already used."""
    return ask(NAME, Refresh(token), timeout)


def logout(user_id: int, *, timeout: float | None = None) -> None:
    """End every token of the user."""
    ask(NAME, Logout(user_id), timeout)
