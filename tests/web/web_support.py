"""Constants and helpers shared by the HTTP tests (a uniquely named module, so that test
files never import a `conftest` by name)."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from flask.testing import FlaskClient

SECRET = "test-secret-key-of-a-decent-length-0123456789"
OPERATOR_TOKEN = "test-operator-token"
OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
PASSWORD = "correct horse battery staple"
_emails = itertools.count(1)


@dataclasses.dataclass(frozen=True)
class Account:
    """A user created for a test, with a bearer token."""

    id: int
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def new_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_emails)}@example.com"


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]["token"]


def product_attrs(**overrides: Any) -> dict[str, Any]:
    return {"name": "Widget", "price": "19.99", "currency": "EUR", **overrides}
