"""`/api/v1`: authentication for every route but register and login, then the resources."""

from __future__ import annotations

from flask import Blueprint, request

from web import shape
from web.auth import authenticate_user
from web.routes import auth, ledger, products, transactions, users

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset(
    {
        "api.auth.register",
        "api.auth.login",
        "api.auth.refresh",
        "api.ledger.checkpoints",  # published: anyone may keep them
        "api.ledger.public_key",
    }
)


@blueprint.before_request
def authenticate() -> None:
    # Phoenix's order: the auth pipeline runs before the controller parses ids.
    if request.endpoint not in PUBLIC_ENDPOINTS:
        authenticate_user()
    shape.reject_bad_ids()


for child in (auth, users, products, transactions, ledger):
    blueprint.register_blueprint(child.blueprint)
