"""Who is calling: an admin's or user's JWT, or the operator token; and the 401/403s."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import current_app, g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from actors import accounts
from actors import errors as service
from web import tokens
from web.calls import timeout


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. The operator has no user id."""

    user_id: int | None
    role: str

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


def user_from_token(token: str | None) -> Caller | None:
    """The caller a token names, with the user's current role; None unless the token is
    valid and still the user's (not deleted, demoted, re-passworded or logged out)."""
    if token is None:
        return None
    try:
        claims = tokens.verify(current_app.config["SECRET_KEY"], token)
    except tokens.InvalidToken:
        return None
    try:
        role = accounts.authorize(claims.user_id, claims.generation, timeout=timeout())
    except service.Unauthorized:
        return None
    return Caller(claims.user_id, role)


def is_operator_token(token: str | None) -> bool:
    expected = current_app.config.get("BITNEXUS_ADMIN_TOKEN")
    if not token or not expected:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def authenticate_user() -> Caller:
    """The caller of an `/api/v1` route (a user's JWT), or 401."""
    caller = user_from_token(bearer_token())
    if caller is None:
        raise Unauthorized()
    g.caller = caller
    return caller


def authenticate_operator(token: str | None = None) -> Caller:
    """The operator token or an admin's JWT, or 401 (403 for a non-admin's JWT)."""
    token = token if token is not None else bearer_token()
    if is_operator_token(token):
        g.caller = OPERATOR
        return OPERATOR
    caller = user_from_token(token)
    if caller is None:
        raise Unauthorized()
    g.caller = caller
    if caller.role != "admin":
        raise Forbidden()
    return caller


def caller() -> Caller:
    return g.caller


def require(allowed: bool) -> None:
    """403 unless `allowed`."""
    if not allowed:
        raise Forbidden()


def require_admin() -> None:
    require(caller().is_admin)


def require_self_or_admin(user_id: object) -> None:
    current = caller()
    require(current.is_admin or current.is_self(user_id))
