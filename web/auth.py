"""Who is calling: an admin's or user's JWT, or the operator token; and the 401/403s."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import current_app, request
from werkzeug.exceptions import Forbidden, Unauthorized

from actors import accounts
from actors import errors as service
from bitnexus.accounts import User
from web import tokens
from web.calls import timeout

# The environ key of this request's caller: the views' and the access line's
# (web/middleware.py), which runs after the app's request context is gone.
CALLER = "bitnexus.caller"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. The operator has no user id and no user."""

    user_id: int | None
    role: str
    user: User | None = None  # as read when the token was checked, for `/auth/me`

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "operator")

    def is_self(self, user_id: object) -> bool:
        return self.user_id is not None and self.user_id == user_id


OPERATOR = Caller(None, "operator")


def bearer_token() -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True)
class Credentials:
    """What a token is checked against: the JWT signing key and the operator token."""

    secret: str
    admin_token: str | None
    timeout: float | None = None  # for the Accounts check; None: the configured default

    def user(self, token: object) -> Caller | None:
        """The caller a JWT names, with the user's current role; None unless the token is
        valid and still the user's (not deleted, demoted, re-passworded or logged out)."""
        if not isinstance(token, str) or not token:
            return None
        try:
            claims = tokens.verify(self.secret, token)
        except tokens.InvalidToken:
            return None
        try:
            user = accounts.authorize(claims.user_id, claims.generation, timeout=self.timeout)
        except service.Unauthorized:
            return None
        return Caller(user.id, user.role, user)

    def is_operator(self, token: object) -> bool:
        expected = self.admin_token
        if not isinstance(token, str) or not token or not expected:
            return False
        return hmac.compare_digest(token.encode(), expected.encode())

    def caller(self, token: object) -> Caller | None:
        """The operator for the operator token, else the JWT's user, else None."""
        return OPERATOR if self.is_operator(token) else self.user(token)


def credentials() -> Credentials:
    """The current app's credentials."""
    config = current_app.config
    return Credentials(config["SECRET_KEY"], config.get("BITNEXUS_ADMIN_TOKEN"), timeout())


def user_from_token(token: str | None) -> Caller | None:
    return credentials().user(token)


def is_operator_token(token: str | None) -> bool:
    return credentials().is_operator(token)


def authenticate_user() -> Caller:
    """The caller of an `/api/v1` route (a user's JWT), or 401."""
    caller = user_from_token(bearer_token())
    if caller is None:
        raise Unauthorized()
    _identify(caller)
    return caller


def authenticate_operator(token: str | None = None) -> Caller:
    """The operator token or an admin's JWT, or 401 (403 for a non-admin's JWT)."""
    token = token if token is not None else bearer_token()
    if is_operator_token(token):
        _identify(OPERATOR)
        return OPERATOR
    caller = user_from_token(token)
    if caller is None:
        raise Unauthorized()
    _identify(caller)
    if caller.role != "admin":
        raise Forbidden()
    return caller


def _identify(caller: Caller) -> None:
    request.environ[CALLER] = caller


def caller() -> Caller:
    return request.environ[CALLER]


def require(allowed: bool) -> None:
    """403 unless `allowed`."""
    if not allowed:
        raise Forbidden()


def require_admin() -> None:
    require(caller().is_admin)


def require_self_or_admin(user_id: object) -> None:
    current = caller()
    require(current.is_admin or current.is_self(user_id))
