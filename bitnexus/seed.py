"""Demo data for `bitnexus db setup --seed`: posted through the services, like any request.

A vendor with two active products, a buyer, and an affiliate; the buyer deposits and buys
one product through the affiliate (commission 10 %). Passwords are `<role>-password-1`.
"""

from __future__ import annotations

from collections.abc import Iterator

from actors import accounts, products, transactions
from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from bitnexus.tree import application_spec
from supervisors import call, start_tree

DEMO_USERS = (
    ("vendor", "Vera Vendor", "user"),
    ("buyer", "Bo Buyer", "user"),
    ("affiliate", "Ada Affiliate", "affiliate"),
)
DEMO_PRODUCTS = (
    ("Elixir in Action", "30.00", "EUR"),
    ("Designing for Scalability with Erlang/OTP", "45.50", "EUR"),
)


def demo(config: Config) -> Iterator[str]:
    """Create the demo data; yields one line per thing created."""
    engine = make_engine(config)
    tree = start_tree(application_spec(config, engine))
    try:
        ids = {}
        for key, name, role in DEMO_USERS:
            attrs = {
                "email": f"{key}@example.com",
                "name": name,
                "password": f"{key}-password-1",
                "role": role,
            }
            ids[key] = call(accounts.NAME, accounts.CreateUser(attrs))["id"]
            yield f"user {key}@example.com (password {key}-password-1, id {ids[key]})"
        catalog = []
        for name, price, currency in DEMO_PRODUCTS:
            attrs = {
                "name": name,
                "price": price,
                "currency": currency,
                "commission_rate": "10",
                "status": "active",
                "created_by": ids["vendor"],
            }
            catalog.append(call(products.NAME, products.CreateProduct(attrs))["id"])
            yield f"product {name!r} ({price} {currency}, id {catalog[-1]})"
        for attrs in (
            {"kind": "deposit", "amount": "100.00", "currency": "EUR"},
            {"kind": "purchase", "product_id": catalog[0], "affiliate_id": ids["affiliate"]},
            {
                "kind": "transfer",
                "amount": "5.00",
                "currency": "EUR",
                "recipient_id": ids["vendor"],
            },
        ):
            reply = call(transactions.NAME, transactions.CreateTransaction(ids["buyer"], attrs))
            posted = reply["transaction"]
            yield f"transaction {posted['kind']} {posted['amount']} {posted['currency']}"
    finally:
        tree.stop()
        engine.dispose()
