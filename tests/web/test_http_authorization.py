"""The authorization matrix: every route × anonymous / user / affiliate / vendor / admin.

The vendor owns product P (active) and Q (pending) and made transaction T; user routes
target the vendor, so for them the vendor is "self". Each subject gets a fresh world and
walks the routes in order (reads first, then writes, then deletes). Beyond the status:
after every refused write an admin reads the world again and finds nothing changed, and
every 2xx read a non-admin gets holds only what is theirs or public.
"""

from __future__ import annotations

import pytest
from web_support import OPERATOR_TOKEN, PASSWORD

SUBJECTS = ("anonymous", "user", "affiliate", "vendor", "admin")
NEW_USER = {"user": {"email": "new@example.com", "name": "New", "password": PASSWORD}}
DEPOSIT = {"transaction": {"kind": "deposit", "amount": "5.00", "currency": "EUR"}}
OWNED_BY_CREATOR = {"/api/v1/transactions": "user_id", "/api/v1/products": "created_by"}
PUBLIC = ("/health", "/ready", "/api/openapi.json", "/api/v1/ledger/block/0")
RESTART = "/admin/supervision/root/services/products/products-1/restart"

# (method, path template, body, expected status for anonymous, user, affiliate, vendor, admin)
MATRIX = [
    ("GET", "/health", None, (200, 200, 200, 200, 200)),
    ("GET", "/ready", None, (200, 200, 200, 200, 200)),
    ("GET", "/api/openapi.json", None, (200, 200, 200, 200, 200)),
    ("GET", "/api/v1/auth/me", None, (401, 200, 200, 200, 200)),
    ("POST", "/api/v1/auth/register", {"user": {"role": "admin"}}, (403,) * 5),
    ("GET", "/api/v1/users", None, (401, 403, 403, 403, 200)),
    ("GET", "/api/v1/users/{V}", None, (401, 403, 403, 200, 200)),
    ("GET", "/api/v1/users/{V}/products", None, (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/users/{V}/balances", None, (401, 403, 403, 200, 200)),
    ("GET", "/api/v1/products", None, (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/products/{P}", None, (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/products/{Q}", None, (401, 404, 404, 200, 200)),
    ("GET", "/api/v1/transactions", None, (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/transactions/{T}", None, (401, 403, 403, 200, 200)),
    ("GET", "/api/v1/ledger/transactions/{V}", None, (401, 403, 403, 200, 200)),
    ("GET", "/api/v1/ledger/block/0", None, (401, 200, 200, 200, 200)),
    ("GET", "/api/v1/ledger/verify/{T}", None, (401, 403, 403, 200, 200)),
    ("GET", "/admin", None, (200, 403, 403, 403, 200)),  # anonymous: the sign-in form
    ("GET", "/admin/supervision", None, (401, 403, 403, 403, 200)),
    ("GET", "/admin/supervision/events", None, (401, 403, 403, 403, 200)),
    ("GET", "/admin/ledger/verify", None, (401, 403, 403, 403, 200)),
    ("POST", RESTART, None, (401, 403, 403, 403, 200)),
    ("POST", "/api/v1/users", NEW_USER, (401, 403, 403, 403, 201)),
    ("PATCH", "/api/v1/users/{V}", {"user": {"name": "Renamed"}}, (401, 403, 403, 200, 200)),
    ("PUT", "/api/v1/users/{V}", {"user": {"role": "affiliate"}}, (401, 403, 403, 403, 200)),
    (
        "POST",
        "/api/v1/products",
        {"product": {"name": "N", "price": "1"}},
        (401, 201, 201, 201, 201),
    ),
    ("PATCH", "/api/v1/products/{P}", {"product": {"name": "M"}}, (401, 403, 403, 200, 200)),
    ("PATCH", "/api/v1/products/{Q}", {"product": {"status": "active"}}, (401, 404, 404, 403, 200)),
    ("POST", "/api/v1/transactions", DEPOSIT, (401, 201, 201, 201, 201)),
    ("DELETE", "/api/v1/products/{P}", None, (401, 403, 403, 204, 204)),
    # The vendor still holds a balance: allowed to try, refused by the ledger's rule.
    ("DELETE", "/api/v1/users/{V}", None, (401, 403, 403, 422, 422)),
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_authorization_matrix(client, make_account, make_product, admin, subject):
    vendor = make_account("user")
    accounts = {
        "user": make_account("user"),
        "affiliate": make_account("affiliate"),
        "vendor": vendor,
        "admin": admin,
    }
    active = make_product(vendor, admin, status="active")
    pending = make_product(vendor)
    tx = client.post("/api/v1/transactions", json=DEPOSIT, headers=vendor.headers).get_json()
    ids = {"V": vendor.id, "P": active["id"], "Q": pending["id"], "T": tx["data"]["id"]}
    me = accounts.get(subject)
    headers = {} if me is None else me.headers
    column = SUBJECTS.index(subject)
    mismatches = []
    world = _world(client, admin, ids, accounts.values())
    for method, template, body, expected in MATRIX:
        path = template.format(**ids)
        response = client.open(path, method=method, json=body, headers=headers)
        status = response.status_code
        if status != expected[column]:
            mismatches.append(f"{method} {path}: {status} != {expected[column]}")
        if method == "GET" and status == 200 and me is not None and me.role != "admin":
            mismatches += [f"GET {path}: {p}" for p in _not_theirs(template, response, me, ids)]
        if status == 201 and template in OWNED_BY_CREATOR:
            owner = response.get_json()["data"][OWNED_BY_CREATOR[template]]
            if owner != me.id:
                mismatches.append(f"{method} {path}: created for user {owner}")
        if method != "GET":
            after = _world(client, admin, ids, accounts.values())
            if status >= 400 and after != world:
                mismatches.append(f"{method} {path} refused ({status}) but changed the world")
            world = after
    assert not mismatches, "\n".join(mismatches)


def _world(client, admin, ids, accounts) -> dict[str, object]:
    """Everything the routes could change, as an admin reads it."""
    paths = [
        "/api/v1/users?limit=100",
        "/api/v1/products?limit=100",
        "/api/v1/transactions?limit=100",
        f"/api/v1/products/{ids['P']}",
        f"/api/v1/products/{ids['Q']}",
        f"/api/v1/ledger/transactions/{ids['V']}",
        *(f"/api/v1/users/{a.id}/balances" for a in accounts),
    ]
    return {path: client.get(path, headers=admin.headers).get_json() for path in paths}


def _not_theirs(template: str, response, me, ids) -> list[str]:
    """What a 200 showed a non-admin that is neither theirs nor public."""
    if template in PUBLIC:
        return []
    data = response.get_json()["data"]
    if template == "/api/v1/auth/me":
        return [] if data["id"] == me.id else [f"shows user {data['id']}"]
    if template.startswith("/api/v1/users/{V}") and not template.endswith("/products"):
        return [] if ids["V"] == me.id else [f"shows user {ids['V']}'s data"]
    if template.startswith("/api/v1/ledger/transactions/"):
        return [] if ids["V"] == me.id else [f"shows user {ids['V']}'s history"]
    if "products" in template:
        products = data if isinstance(data, list) else [data]
        return [
            f"shows {p['status']} product {p['id']} of user {p['created_by']}"
            for p in products
            if p["status"] != "active" and p["created_by"] != me.id
        ]
    if template == "/api/v1/transactions":
        return [f"shows transaction {tx['id']}" for tx in data if me.id not in _parties(tx)]
    if template.startswith(("/api/v1/transactions/", "/api/v1/ledger/verify/")):
        return [] if ids["V"] == me.id else [f"shows transaction {ids['T']}"]
    return [f"no ownership rule for {template}"]


def _parties(tx: dict) -> set[int]:
    return {tx["user_id"], tx["recipient_id"], tx["affiliate_id"]} | {
        p["user_id"] for p in tx["postings"]
    }


def test_operator_token_opens_operator_routes_only(client):
    operator = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
    assert client.get("/admin/supervision", headers=operator).status_code == 200
    assert client.get("/api/v1/auth/me", headers=operator).status_code == 401
