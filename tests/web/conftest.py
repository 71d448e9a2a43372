"""Fixtures for the HTTP layer: the app over a running tree, and callers with tokens.

Builds on tests/conftest.py: `config`, `engine` and `services` (the application's tree)
run every test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from chromium_support import chromium  # noqa: F401 (a fixture for page tests)
from flask import Flask
from flask.testing import FlaskClient
from web_support import OPERATOR_TOKEN, PASSWORD, SECRET, Account, login, new_email, product_attrs

from actors import accounts
from bitnexus.config import Config
from bitnexus.database.probe import DatabaseProbe
from supervisors import Tree
from web import Runtime, create_app


@pytest.fixture
def web_config(config: Config) -> Config:
    return dataclasses.replace(config, secret_key=SECRET, admin_token=OPERATOR_TOKEN)


@pytest.fixture
def app(web_config: Config, engine: sa.Engine, services: Tree) -> Iterator[Flask]:
    probe = DatabaseProbe(engine, web_config.call_timeout)  # the production probe
    try:
        yield create_app(web_config, Runtime(tree=services, database_ping=probe))
    finally:
        probe.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_account(client: FlaskClient, services: Tree) -> Callable[..., Account]:
    """Create a user of `role` directly through the Accounts service, then log in."""

    def make(role: str = "user") -> Account:
        email = new_email(role)
        attrs = {"email": email, "name": role.title(), "password": PASSWORD, "role": role}
        user = accounts.create_user(attrs)
        return Account(user.id, email, role, login(client, email))

    return make


@pytest.fixture
def user(make_account: Callable[..., Account]) -> Account:
    return make_account("user")


@pytest.fixture
def admin(make_account: Callable[..., Account]) -> Account:
    return make_account("admin")


@pytest.fixture
def make_product(client: FlaskClient) -> Callable[..., dict[str, Any]]:
    """Create a product as `owner` over HTTP; `status` is set by an admin when given."""

    def make(owner: Account, admin: Account | None = None, **attrs: Any) -> dict[str, Any]:
        status = attrs.pop("status", None)
        response = client.post(
            "/api/v1/products", json={"product": product_attrs(**attrs)}, headers=owner.headers
        )
        assert response.status_code == 201, response.get_json()
        product = response.get_json()["data"]
        if status is not None:
            assert admin is not None, "setting a status needs an admin"
            response = client.patch(
                f"/api/v1/products/{product['id']}",
                json={"product": {"status": status}},
                headers=admin.headers,
            )
            assert response.status_code == 200, response.get_json()
            product = response.get_json()["data"]
        return product

    return make
