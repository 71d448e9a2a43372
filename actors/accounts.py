"""The Accounts service (registered name `accounts`, a pool): users and authentication."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from actors import products
from actors.errors import NotFound, Unauthorized, Unavailable
from actors.service import database_outage_as_unavailable, require_id
from bitnexus.accounts.passwords import Passwords
from bitnexus.accounts.sessions import Sessions
from bitnexus.accounts.users import Users
from bitnexus.config import Config
from bitnexus.ledger.queries import refuse_nonzero_balances
from supervisors import ActorCrashed, CallTimeout, NoProcess, Worker, call

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
    """The user's products, from the Products service (NotFound for an unknown user)."""

    user_id: int
    params: Mapping[str, object] = field(default_factory=dict)


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
    """The user's current role if a token of ``generation`` is still theirs; else
    Unauthorized. One primary-key read: asked on every authenticated request."""

    user_id: int
    generation: int


class Accounts(Worker):
    """Users over the database. Caches nothing, so a restarted incarnation is never stale."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._config = config
        self._engine = engine
        self._users: Users | None = None
        self._sessions = Sessions(engine)

    def init(self) -> None:
        # Argon2 work (the decoy hash) belongs in the actor thread, not the starter's.
        self._users = Users(self._engine, Passwords(self._config))

    def handle(self, message: object) -> object:
        users = self._users
        assert users is not None
        with database_outage_as_unavailable():
            match message:
                case Authorize(user_id=user_id, generation=generation):
                    return self._sessions.authorize(_token_user(user_id), generation)
                case Login(email=email, password=password):
                    return self._sessions.start(users.authenticate(email, password)["id"])
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
                case GetUserProducts(user_id=user_id, params=params):
                    users.get(require_id(user_id, "user"))
                    return self._products_of(user_id, params)
                case Authenticate(email=email, password=password):
                    return users.authenticate(email, password)
        return super().handle(message)

    def ensure_deletable(self, conn: Connection, user_id: int) -> None:
        """Hook run inside the delete's transaction: raise a Rejected to refuse.

        A user who still holds a non-zero balance can't be deleted.
        """
        refuse_nonzero_balances(conn, user_id)

    def _products_of(self, user_id: int, params: Mapping[str, object]) -> object:
        """The inter-service call of the original design: Products, by name."""
        # Shorter than our own caller's timeout, so the caller hears 503, not a timeout.
        timeout = self._config.call_timeout * 0.8
        try:
            return call(products.NAME, products.ListProductsByUser(user_id, params), timeout)
        except (ActorCrashed, CallTimeout, NoProcess) as exc:
            raise Unavailable(f"products: {exc}") from exc


def _token_user(user_id: int) -> int:
    try:
        return require_id(user_id, "user")
    except NotFound:
        raise Unauthorized("no such user") from None
