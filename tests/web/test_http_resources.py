"""The Phoenix resource contract for users and products, row by row."""

from __future__ import annotations

import re

from web_support import PASSWORD, product_attrs

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def new_user(**overrides):
    return {"user": {"email": "ann@example.com", "name": "Ann", "password": PASSWORD, **overrides}}


def test_register_is_201_with_location_and_no_password(client):
    response = client.post("/api/v1/auth/register", json=new_user(role="affiliate", id=999))
    assert response.status_code == 201
    user = response.get_json()["data"]
    assert response.headers["location"] == f"/api/v1/users/{user['id']}"
    assert user["id"] != 999  # an id inside the wrapper is ignored
    assert user["role"] == "affiliate"
    assert "password" not in user and "password_hash" not in user
    assert ISO_UTC.match(user["inserted_at"]) and ISO_UTC.match(user["updated_at"])


def test_duplicate_email_is_422_taken(client):
    assert client.post("/api/v1/auth/register", json=new_user()).status_code == 201
    response = client.post("/api/v1/auth/register", json=new_user())
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"email": ["has already been taken"]}}


def test_users_index_paginates_with_a_cursor(client, admin, make_account):
    for _ in range(3):
        make_account("user")
    first = client.get("/api/v1/users?limit=2", headers=admin.headers).get_json()
    assert len(first["data"]) == 2 and first["meta"]["next"]
    second = client.get(
        f"/api/v1/users?limit=2&after={first['meta']['next']}", headers=admin.headers
    )
    rest = second.get_json()
    assert rest["meta"]["next"] is None
    ids = [u["id"] for u in first["data"] + rest["data"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 4


def test_limit_over_100_is_422(client, admin):
    response = client.get("/api/v1/users?limit=101", headers=admin.headers)
    assert response.status_code == 422
    assert "limit" in response.get_json()["errors"]


def test_update_accepts_partial_patch_and_put(client, user):
    for method, name in (("PATCH", "Patched"), ("PUT", "Put")):
        response = client.open(
            f"/api/v1/users/{user.id}",
            method=method,
            json={"user": {"name": name}},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.get_json()["data"]["name"] == name
        assert response.get_json()["data"]["email"] == user.email


def test_delete_is_204_with_empty_body(client, admin, make_account):
    gone = make_account("user")
    response = client.delete(f"/api/v1/users/{gone.id}", headers=admin.headers)
    assert response.status_code == 204 and response.data == b""
    assert client.get(f"/api/v1/users/{gone.id}", headers=admin.headers).status_code == 404


def test_admin_grants_admin(client, admin, user):
    response = client.patch(
        f"/api/v1/users/{user.id}", json={"user": {"role": "admin"}}, headers=admin.headers
    )
    assert response.get_json()["data"]["role"] == "admin"


def test_product_create_sets_vendor_and_pending(client, user, make_account):
    other = make_account("user")
    body = {"product": product_attrs(created_by=other.id, status="active", price=19.99)}
    response = client.post("/api/v1/products", json=body, headers=user.headers)
    assert response.status_code == 201
    product = response.get_json()["data"]
    assert response.headers["location"] == f"/api/v1/products/{product['id']}"
    assert (product["created_by"], product["status"]) == (user.id, "pending")
    assert product["price"] == "19.99" and isinstance(product["commission_rate"], str)


def test_product_validation_is_422(client, user):
    body = {"product": {"name": "", "price": "-1"}}
    response = client.post("/api/v1/products", json=body, headers=user.headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["name"] == ["can't be blank"]
    assert errors["price"] == ["must be greater than 0"]


def test_product_index_shows_active_and_own(client, make_account, make_product, admin):
    vendor, other = make_account("user"), make_account("user")
    active = make_product(vendor, admin, status="active", category="books")
    pending = make_product(vendor, name="Secret draft")
    seen_by_other = client.get("/api/v1/products", headers=other.headers).get_json()["data"]
    assert [p["id"] for p in seen_by_other] == [active["id"]]
    own = client.get(f"/api/v1/products?created_by={vendor.id}", headers=vendor.headers)
    assert {p["id"] for p in own.get_json()["data"]} == {active["id"], pending["id"]}
    everything = client.get("/api/v1/products", headers=admin.headers).get_json()["data"]
    assert {p["id"] for p in everything} >= {active["id"], pending["id"]}
    hidden = client.get("/api/v1/products?status=pending", headers=other.headers)
    assert hidden.get_json() == {"data": [], "meta": {"next": None}}
    unfiltered = client.get("/api/v1/products", headers=vendor.headers).get_json()["data"]
    assert [p["id"] for p in unfiltered] == [active["id"], pending["id"]]
    by_query = client.get("/api/v1/products?q=secret", headers=vendor.headers).get_json()["data"]
    assert [p["id"] for p in by_query] == [pending["id"]]
    drafts = client.get("/api/v1/products?status=pending", headers=vendor.headers)
    assert [p["id"] for p in drafts.get_json()["data"]] == [pending["id"]]
    by_category = client.get("/api/v1/products?category=books", headers=other.headers)
    assert [p["id"] for p in by_category.get_json()["data"]] == [active["id"]]


def test_vendor_updates_but_not_status(client, user, make_product):
    product = make_product(user)
    path = f"/api/v1/products/{product['id']}"
    renamed = client.put(path, json={"product": {"name": "Renamed"}}, headers=user.headers)
    assert renamed.status_code == 200 and renamed.get_json()["data"]["name"] == "Renamed"
    status = client.patch(path, json={"product": {"status": "active"}}, headers=user.headers)
    assert status.status_code == 403


def test_vendor_deletes_own_product(client, user, make_product):
    product = make_product(user)
    response = client.delete(f"/api/v1/products/{product['id']}", headers=user.headers)
    assert (response.status_code, response.data) == (204, b"")
    assert client.get(f"/api/v1/products/{product['id']}", headers=user.headers).status_code == 404


def test_users_products_lists_a_vendors_active_products(client, make_account, make_product, admin):
    vendor, other = make_account("user"), make_account("user")
    active = make_product(vendor, admin, status="active")
    make_product(vendor)
    listed = client.get(f"/api/v1/users/{vendor.id}/products", headers=other.headers)
    assert [p["id"] for p in listed.get_json()["data"]] == [active["id"]]
    own = client.get(f"/api/v1/users/{vendor.id}/products", headers=vendor.headers)
    assert len(own.get_json()["data"]) == 2
