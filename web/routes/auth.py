"""`/auth`: register, log in for tokens, refresh them, log out, and who am I."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from actors import accounts
from actors.errors import Unauthorized as WrongCredentials
from bitnexus.accounts import Session
from web import policy, render, tokens
from web.auth import caller
from web.calls import timeout
from web.client_address import client_address
from web.login_limits import LoginLimiter
from web.responses import created, data, error, no_content
from web.shape import params, wrapped

blueprint = Blueprint("auth", __name__, url_prefix="/auth")


@blueprint.post("/register")
def register() -> Response:
    attrs = wrapped("user")
    policy.check_self_registration(attrs)
    user = accounts.create_user(attrs, timeout=timeout())
    return created(render.user(user), f"/api/v1/users/{user.id}")


@blueprint.post("/login")
def login() -> Response:
    # Password guessing is bounded: failed logins are counted per account and per client
    # (web/login_limits.py); past a limit, 429.
    body = params()
    email, client = _account(body.get("email")), _client()
    limiter = _limiter()
    wait = limiter.retry_after(email, client)
    if wait is not None:
        return error(429, {"retry-after": str(wait)})
    try:
        session = accounts.login(body.get("email"), body.get("password"), timeout=timeout())
    except WrongCredentials:
        limiter.failed(email, client)
        raise
    limiter.succeeded(email)
    return _tokens(session)


@blueprint.post("/refresh")
def refresh() -> Response:
    """A new access token and the next refresh token of the family (rotation)."""
    return _tokens(accounts.refresh(params().get("refresh_token"), timeout=timeout()))


@blueprint.post("/logout")
def logout() -> Response:
    """End every token of the caller: access and refresh, on every process."""
    accounts.logout(caller().user_id, timeout=timeout())
    return no_content()


def _tokens(session: Session) -> Response:
    user = session.user
    secret = current_app.config["SECRET_KEY"]
    body = {
        "token": tokens.issue(secret, user.id, user.role, generation=session.generation),
        "token_type": "Bearer",
        "expires_in": tokens.LIFETIME_SECONDS,
        "refresh_token": session.refresh_token,
        "user": render.user(user),
    }
    return data(body, headers={"cache-control": "no-store"})


def _limiter() -> LoginLimiter:
    # One per app (so per worker process); setdefault is atomic under the GIL.
    return current_app.extensions.setdefault("bitnexus.login_limits", LoginLimiter())


def _account(email: object) -> str | None:
    return email.strip().lower()[:320] if isinstance(email, str) and email.strip() else None


def _client() -> str:
    """The client's address (web/client_address.py, BITNEXUS_TRUSTED_PROXIES)."""
    forwarded = request.headers.get("x-forwarded-for", "")
    trusted = current_app.config["BITNEXUS_TRUSTED_PROXIES"]
    return client_address(request.remote_addr, forwarded, trusted)


@blueprint.get("/me")
def me() -> Response:
    # The token check read the user's row in this request: a deleted user is already 401.
    user = caller().user
    assert user is not None, "a user's JWT authenticated this route"
    return data(render.user(user))
