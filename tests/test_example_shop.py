"""Testing your code against the actors: the example in README.md, kept verbatim."""

from decimal import Decimal

from actors import accounts, ledger, products, transactions
from supervisors import crash, whereis

PASSWORD = "correct horse battery"


def test_a_purchase_pays_the_vendor(bitnexus_app):
    vendor = accounts.create_user({"email": "v@example.com", "name": "V", "password": PASSWORD})
    buyer = accounts.create_user({"email": "b@example.com", "name": "B", "password": PASSWORD})
    lamp = products.create_product(
        {"name": "Lamp", "price": "19.99", "status": "active"}, vendor.id
    )
    deposit = {"kind": "deposit", "amount": "50", "currency": "EUR"}
    transactions.create_transaction(buyer.id, deposit)
    bought = transactions.create_transaction(buyer.id, {"kind": "purchase", "product_id": lamp.id})
    assert bought.amount == Decimal("19.99")
    assert ledger.balances(vendor.id)["EUR"] == Decimal("19.99")


def test_a_crashed_worker_is_restarted_by_its_pool(bitnexus_tree):
    seen = bitnexus_tree.log.last_seq
    crash(whereis(accounts.NAME), "crashed by a test")  # one member of the pool
    restarted = bitnexus_tree.log.wait_for(lambda e: e.kind == "child_restarted", after=seen)
    assert restarted.supervisor == "root/services/accounts"  # by its pool, alone
    user = accounts.create_user({"email": "a@example.com", "name": "A", "password": PASSWORD})
    assert accounts.get_user(user.id) == user
