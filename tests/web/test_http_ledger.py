"""Transactions and the ledger over HTTP: idempotency, history, blocks, proofs."""

from __future__ import annotations


def deposit(client, account, amount="100.00", key=None, currency="EUR"):
    headers = dict(account.headers)
    if key is not None:
        headers["idempotency-key"] = key
    body = {"transaction": {"kind": "deposit", "amount": amount, "currency": currency}}
    return client.post("/api/v1/transactions", json=body, headers=headers)


def test_deposit_is_201_with_location(client, user):
    response = deposit(client, user)
    assert response.status_code == 201
    tx = response.get_json()["data"]
    assert response.headers["location"] == f"/api/v1/transactions/{tx['id']}"
    assert (tx["kind"], tx["amount"], tx["currency"]) == ("deposit", "100.00", "EUR")
    assert "idempotent-replayed" not in response.headers


def test_replay_returns_the_original_with_header(client, user):
    first = deposit(client, user, key="key-1")
    again = deposit(client, user, key="key-1")
    assert again.status_code == first.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["idempotent-replayed"] == "true"
    balances = client.get(f"/api/v1/users/{user.id}/balances", headers=user.headers)
    assert {"currency": "EUR", "balance": "100.00"} in balances.get_json()["data"]


def test_key_reused_for_another_request_is_422(client, user):
    assert deposit(client, user, key="key-2").status_code == 201
    response = deposit(client, user, amount="5.00", key="key-2")
    assert response.status_code == 422
    assert "idempotency_key" in response.get_json()["errors"]


def test_idempotency_key_field_in_body(client, user):
    body = {
        "transaction": {
            "kind": "deposit",
            "amount": "1",
            "currency": "EUR",
            "idempotency_key": "in-body",
        }
    }
    first = client.post("/api/v1/transactions", json=body, headers=user.headers)
    again = client.post("/api/v1/transactions", json=body, headers=user.headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


def test_purchase_history_verify(client, make_account, make_product, admin):
    vendor, buyer = make_account("user"), make_account("user")
    product = make_product(vendor, admin, status="active", price="30.00")
    assert deposit(client, buyer, "50.00").status_code == 201
    body = {"transaction": {"kind": "purchase", "product_id": product["id"]}}
    response = client.post("/api/v1/transactions", json=body, headers=buyer.headers)
    assert response.status_code == 201, response.get_json()
    purchase = response.get_json()["data"]

    history = client.get(f"/api/v1/ledger/transactions/{buyer.id}", headers=buyer.headers)
    assert history.status_code == 200
    assert history.get_json()["data"][0]["transaction"]["kind"] == "purchase"
    assert history.get_json()["meta"] == {"next": None}

    verify = client.get(f"/api/v1/ledger/verify/{purchase['id']}", headers=vendor.headers)
    assert verify.status_code == 200
    assert verify.get_json()["data"]["verdict"] == "valid"

    block = client.get(f"/api/v1/ledger/block/{purchase['block_index']}", headers=buyer.headers)
    assert block.status_code == 200
    assert purchase["id"] in [t["id"] for t in block.get_json()["data"]["transactions"]]

    listed = client.get("/api/v1/transactions?kind=purchase", headers=vendor.headers)
    assert [t["id"] for t in listed.get_json()["data"]] == [purchase["id"]]


def listed(client, account, query=""):
    response = client.get(f"/api/v1/transactions{query}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_index_lists_the_callers_transactions_and_admin_all(client, make_account, admin):
    alice, bob, stranger = make_account("user"), make_account("user"), make_account("user")
    eur = deposit(client, alice, "20.00").get_json()["data"]
    usd = deposit(client, alice, "5.00", currency="USD").get_json()["data"]
    body = {"transaction": {"kind": "transfer", "amount": "2", "currency": "EUR"}}
    body["transaction"]["recipient_id"] = bob.id
    sent = client.post("/api/v1/transactions", json=body, headers=alice.headers).get_json()
    sent = sent["data"]
    ids = lambda page: [t["id"] for t in page["data"]]  # noqa: E731
    assert listed(client, alice) == {"data": [sent, usd, eur], "meta": {"next": None}}
    assert ids(listed(client, bob)) == [sent["id"]]  # a recipient is a party
    assert listed(client, stranger) == {"data": [], "meta": {"next": None}}
    assert ids(listed(client, admin)) == [sent["id"], usd["id"], eur["id"]]
    assert ids(listed(client, alice, "?kind=deposit")) == [usd["id"], eur["id"]]
    assert ids(listed(client, alice, "?currency=USD")) == [usd["id"]]
    assert ids(listed(client, admin, "?kind=transfer&currency=EUR")) == [sent["id"]]
    first = listed(client, alice, "?limit=2")
    assert ids(first) == [sent["id"], usd["id"]] and first["meta"]["next"]
    rest = listed(client, alice, f"?limit=2&after={first['meta']['next']}")
    assert rest == {"data": [eur], "meta": {"next": None}}


def test_index_rejects_invalid_filters(client, user):
    response = client.get("/api/v1/transactions?kind=refund&limit=101", headers=user.headers)
    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {"kind": ["is invalid"], "limit": ["must be less than or equal to 100"]}
    }
    bad = client.get("/api/v1/transactions?after=nope", headers=user.headers)
    assert bad.status_code == 422
    assert list(bad.get_json()["errors"].values()) == [["is invalid"]]


def test_non_party_cannot_see_or_verify(client, make_account):
    owner, stranger = make_account("user"), make_account("user")
    tx = deposit(client, owner).get_json()["data"]
    assert (
        client.get(f"/api/v1/transactions/{tx['id']}", headers=stranger.headers).status_code == 403
    )
    assert (
        client.get(f"/api/v1/ledger/verify/{tx['id']}", headers=stranger.headers).status_code == 403
    )
    assert client.get(f"/api/v1/transactions/{tx['id']}", headers=owner.headers).status_code == 200


def test_transactions_are_immutable(client, user):
    tx = deposit(client, user).get_json()["data"]
    for method in ("PATCH", "PUT", "DELETE"):
        response = client.open(
            f"/api/v1/transactions/{tx['id']}",
            method=method,
            json={"transaction": {}},
            headers=user.headers,
        )
        assert response.status_code == 404


def test_admin_verifies_the_whole_chain(client, user):
    deposit(client, user)
    response = client.get(
        "/admin/ledger/verify", headers={"authorization": "Bearer test-operator-token"}
    )
    assert response.status_code == 200
    assert response.get_json()["data"]["valid"] is True


def test_balances_are_the_owners_and_404_for_a_user_that_is_gone(client, user, admin):
    deposit(client, user, amount="7.00")
    own = client.get(f"/api/v1/users/{user.id}/balances", headers=user.headers)
    seen_by_admin = client.get(f"/api/v1/users/{user.id}/balances", headers=admin.headers)
    assert own.status_code == seen_by_admin.status_code == 200
    assert own.get_json() == seen_by_admin.get_json()
    assert {"currency": "EUR", "balance": "7.00"} in own.get_json()["data"]
    missing = client.get(f"/api/v1/users/{user.id + 1000}/balances", headers=admin.headers)
    assert missing.status_code == 404, missing.get_json()
