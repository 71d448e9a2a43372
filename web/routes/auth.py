"""`/auth`: register, log in for a bearer token, and who am I."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import Unauthorized

from actors import accounts
from actors.errors import NotFound
from actors.errors import Unauthorized as WrongCredentials
from web import policy, render, tokens
from web.auth import caller
from web.calls import timeout
from web.login_limits import LoginLimiter
from web.responses import created, data, error
from web.shape import params, wrapped

blueprint = Blueprint("auth", __name__, url_prefix="/auth")
TRUSTED_PROXIES = frozenset({"127.0.0.1", "::1"})


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
        user = accounts.authenticate_user(
            body.get("email"), body.get("password"), timeout=timeout()
        )
    except WrongCredentials:
        limiter.failed(email, client)
        raise
    limiter.succeeded(email)
    token = tokens.issue(current_app.config["SECRET_KEY"], user.id, user.role)
    return data(
        {
            "token": token,
            "token_type": "Bearer",
            "expires_in": tokens.LIFETIME_SECONDS,
            "user": render.user(user),
        }
    )


def _limiter() -> LoginLimiter:
    # One per app (so per worker process); setdefault is atomic under the GIL.
    return current_app.extensions.setdefault("bitnexus.login_limits", LoginLimiter())


def _account(email: object) -> str | None:
    return email.strip().lower()[:320] if isinstance(email, str) and email.strip() else None


def _client() -> str:
    """The client's address: the peer, or the first X-Forwarded-For hop when the peer is
    a proxy on this host (loopback), as behind a local reverse proxy."""
    peer = request.remote_addr or "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    if peer in TRUSTED_PROXIES and forwarded.strip():
        return forwarded.split(",")[0].strip()[:64]
    return peer


@blueprint.get("/me")
def me() -> Response:
    try:
        return data(render.user(accounts.get_user(caller().user_id, timeout=timeout())))
    except NotFound:
        raise Unauthorized() from None  # a valid token for a deleted user
