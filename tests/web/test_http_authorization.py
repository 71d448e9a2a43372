"""The authorization matrix: every route × anonymous / user / affiliate / vendor / admin.

The vendor owns product P (active) and Q (pending) and made transaction T; user routes
target the vendor, so for them the vendor is "self". Each subject gets a fresh world and
walks the routes in order (reads first, then writes, then deletes).
"""

from __future__ import annotations

import pytest
from web_support import OPERATOR_TOKEN, PASSWORD

SUBJECTS = ("anonymous", "user", "affiliate", "vendor", "admin")
NEW_USER = {"user": {"email": "new@example.com", "name": "New", "password": PASSWORD}}
DEPOSIT = {"transaction": {"kind": "deposit", "amount": "5.00", "currency": "EUR"}}
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
    headers = {} if subject == "anonymous" else accounts[subject].headers
    column = SUBJECTS.index(subject)
    mismatches = []
    for method, template, body, expected in MATRIX:
        path = template.format(**ids)
        response = client.open(path, method=method, json=body, headers=headers)
        if response.status_code != expected[column]:
            mismatches.append(f"{method} {path}: {response.status_code} != {expected[column]}")
    assert not mismatches, "\n".join(mismatches)


def test_operator_token_opens_operator_routes_only(client):
    operator = {"authorization": f"Bearer {OPERATOR_TOKEN}"}
    assert client.get("/admin/supervision", headers=operator).status_code == 200
    assert client.get("/api/v1/auth/me", headers=operator).status_code == 401
