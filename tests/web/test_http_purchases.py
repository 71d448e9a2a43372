"""A purchase is charged the price the buyer saw, through a real server on both
databases: a re-priced active product goes back to pending, and a purchase naming the
expected price and currency is refused (422) when they differ."""

from __future__ import annotations

import pytest
from live_server import start
from security_support import ENV, deposit, make_admin, register


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, ENV, workers=2)
    yield server
    server.stop()


def buy(live, buyer, product_id: int, **pinned: str):
    body = {"transaction": {"kind": "purchase", "product_id": product_id, **pinned}}
    return live.request("POST", "/api/v1/transactions", body, buyer.headers)


def test_a_purchase_pins_the_price_it_was_shown(live, database_url, tmp_path):
    admin, vendor, buyer = (
        make_admin(live, database_url, tmp_path),
        register(live, "v"),
        register(live, "b"),
    )
    made = live.request(
        "POST",
        "/api/v1/products",
        {"product": {"name": "Lamp", "price": "10.00", "currency": "EUR"}},
        vendor.headers,
    ).body["data"]
    path = f"/api/v1/products/{made['id']}"
    assert (
        live.request("PATCH", path, {"product": {"status": "active"}}, admin.headers).status == 200
    )
    deposit(live, buyer, "100.00")

    repriced = live.request("PATCH", path, {"product": {"price": "90.00"}}, vendor.headers)
    assert repriced.status == 200 and repriced.body["data"]["status"] == "pending"
    assert buy(live, buyer, made["id"]).body == {"errors": {"product_id": ["is not active"]}}

    assert (
        live.request("PATCH", path, {"product": {"status": "active"}}, admin.headers).status == 200
    )
    stale = buy(live, buyer, made["id"], price="10.00", currency="EUR")
    assert stale.status == 422 and stale.body["errors"] == {
        "price": ["does not match the product's price"]
    }
    wrong_currency = buy(live, buyer, made["id"], price="90.00", currency="USD")
    assert wrong_currency.status == 422 and "currency" in wrong_currency.body["errors"]
    bought = buy(live, buyer, made["id"], price="90.00", currency="EUR")
    assert bought.status == 201 and bought.body["data"]["amount"] == "90.00"
