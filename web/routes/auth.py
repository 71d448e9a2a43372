"""`/auth`: register, log in for a bearer token, and who am I."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from werkzeug.exceptions import Unauthorized

from actors import accounts
from actors.errors import NotFound
from web import policy, tokens
from web.auth import caller
from web.calls import ask
from web.responses import created, data
from web.shape import params, wrapped

blueprint = Blueprint("auth", __name__, url_prefix="/auth")


@blueprint.post("/register")
def register() -> Response:
    attrs = wrapped("user")
    policy.check_self_registration(attrs)
    user = ask(accounts.NAME, accounts.CreateUser(attrs))
    return created(user, f"/api/v1/users/{user['id']}")


@blueprint.post("/login")
def login() -> Response:
    body = params()
    user = ask(accounts.NAME, accounts.Authenticate(body.get("email"), body.get("password")))
    token = tokens.issue(current_app.config["SECRET_KEY"], user["id"], user["role"])
    return data(
        {
            "token": token,
            "token_type": "Bearer",
            "expires_in": tokens.LIFETIME_SECONDS,
            "user": user,
        }
    )


@blueprint.get("/me")
def me() -> Response:
    try:
        return data(ask(accounts.NAME, accounts.GetUser(caller().user_id)))
    except NotFound:
        raise Unauthorized() from None  # a valid token for a deleted user
