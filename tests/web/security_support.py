"""A live server for the security regressions, and the few calls every such test makes."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from live_server import LiveServer, create_admin

PASSWORD = "correct horse battery staple"
OPERATOR_TOKEN = "security-operator-token"
OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
ENV = {
    "BITNEXUS_SECRET_KEY": "security-secret-key-of-a-decent-length-0123456789",
    "BITNEXUS_ADMIN_TOKEN": OPERATOR_TOKEN,
    "BITNEXUS_ARGON2_TIME_COST": "1",
    "BITNEXUS_ARGON2_MEMORY_COST": "64",
    "BITNEXUS_ARGON2_PARALLELISM": "1",
    "BITNEXUS_ACCOUNTS_POOL": "2",
    "BITNEXUS_PRODUCTS_POOL": "2",
}
_numbers = itertools.count(1)


@dataclass
class Person:
    id: int
    email: str
    token: str
    refresh_token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def register(live: LiveServer, prefix: str = "user") -> Person:
    email = f"{prefix}{next(_numbers)}-{os.getpid()}@example.com"
    user = {"email": email, "name": prefix.title(), "password": PASSWORD}
    reply = live.request("POST", "/api/v1/auth/register", {"user": user})
    assert reply.status == 201, reply.body
    return login(live, email, reply.body["data"]["id"])


def login(live: LiveServer, email: str, user_id: int | None = None) -> Person:
    reply = live.request("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
    assert reply.status == 200, reply.body
    body = reply.body["data"]
    return Person(user_id or body["user"]["id"], email, body["token"], body.get("refresh_token"))


def make_admin(live: LiveServer, database_url: str, cwd: Path) -> Person:
    """An admin created with the CLI, as an operator would, logged in."""
    email = f"admin{next(_numbers)}-{os.getpid()}@example.com"
    create_admin(database_url, ENV, cwd, email, PASSWORD)
    return login(live, email)


def deposit(live: LiveServer, who: Person, amount: str, currency: str = "EUR") -> dict:
    body = {"transaction": {"kind": "deposit", "amount": amount, "currency": currency}}
    reply = live.request("POST", "/api/v1/transactions", body, who.headers)
    assert reply.status == 201, reply.body
    return reply.body["data"]


def transfer(live: LiveServer, sender: Person, recipient: Person, amount: str) -> dict:
    body = {
        "transaction": {
            "kind": "transfer",
            "amount": amount,
            "currency": "EUR",
            "recipient_id": recipient.id,
        }
    }
    reply = live.request("POST", "/api/v1/transactions", body, sender.headers)
    assert reply.status == 201, reply.body
    return reply.body["data"]
