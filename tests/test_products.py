"""The Products service, through actor messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from decimal import Decimal

import pytest
import sqlalchemy as sa

from actors.accounts import CreateUser, DeleteUser
from actors.errors import Forbidden, NotFound, ValidationFailed
from actors.products import (
    CreateProduct,
    DeleteProduct,
    GetProduct,
    ListProducts,
    ListProductsByUser,
    UpdateProduct,
)
from bitnexus.catalog import Product
from bitnexus.common.pagination import Page
from bitnexus.database.schema import products as products_table
from supervisors import ActorCrashed, Crash, call


def products(message):
    return call("products", message, timeout=10.0)


def errors_of(message) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        products(message)
    return info.value.errors


@pytest.fixture
def vendor(services) -> int:
    attrs = {"email": "vendor@example.com", "name": "Vendor", "password": "long enough pw"}
    return call("accounts", CreateUser(attrs)).id


@pytest.fixture
def valid(vendor):
    def make(**overrides):
        return {"name": "Lamp", "price": "19.99", "created_by": vendor, **overrides}

    return make


def create(valid, **overrides):
    return products(CreateProduct(valid(**overrides)))


# ---------------------------------------------------------------- create: valid


def test_create_returns_the_product_with_defaults(valid, vendor):
    product = create(valid)
    assert product == Product(
        id=product.id,
        name="Lamp",
        description=None,
        category=None,
        price=Decimal("19.99"),
        currency="EUR",
        commission_rate=Decimal("0.00"),
        status="pending",
        created_by=vendor,
        inserted_at=product.inserted_at,
        updated_at=product.inserted_at,
    )
    assert product.inserted_at.tzinfo == UTC
    assert products(GetProduct(product.id)) == product


@pytest.mark.parametrize(
    "price, currency, shown",
    [
        ("19.99", "EUR", "19.99"),
        (19.99, "USD", "19.99"),
        (5, "EUR", "5.00"),
        ("0.01", "EUR", "0.01"),
        ("1e2", "USD", "100.00"),
        ("19.990", "EUR", "19.99"),
        ("0.00000001", "NXC", "0.00000001"),
        ("12345.12345678", "NXC", "12345.12345678"),
        ("9999999999.99", "EUR", "9999999999.99"),
    ],
)
def test_prices_are_exact_decimals(valid, engine, price, currency, shown):
    product = create(valid, price=price, currency=currency)
    assert format(product.price, "f") == shown and product.currency == currency
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(products_table.c.price_minor).where(products_table.c.id == product.id)
        ).scalar_one()
    assert isinstance(stored, int)
    assert stored == int(shown.replace(".", ""))


def test_optional_fields_and_limits(valid):
    product = create(
        valid,
        name="n" * 200,
        description="d" * 5000,
        category="c" * 100,
        commission_rate="100",
        status="active",
    )
    assert (product.name, product.description, product.category) == (
        "n" * 200,
        "d" * 5000,
        "c" * 100,
    )
    assert product.commission_rate == Decimal(100) and product.status == "active"
    for rate, shown in [("12.5", "12.50"), (0, "0.00"), ("0.01", "0.01"), (7.25, "7.25")]:
        assert str(create(valid, commission_rate=rate).commission_rate) == shown
    for status in ("pending", "active", "rejected", "archived"):
        assert create(valid, status=status).status == status


def test_unknown_fields_and_id_are_ignored(valid):
    product = create(valid, id=999, price_minor=1, colour="red")
    assert product.id != 999 and product.price == Decimal("19.99")


# ---------------------------------------------------------------- create: invalid


def test_missing_fields_are_blank(services):
    assert errors_of(CreateProduct({})) == {
        "name": ["can't be blank"],
        "price": ["can't be blank"],
        "created_by": ["can't be blank"],
    }


def test_explicit_blanks_are_blank(valid):
    errors = errors_of(
        CreateProduct(
            valid(
                name="  ", price="", currency=None, commission_rate=None, status="", created_by=None
            )
        )
    )
    assert errors == {
        field: ["can't be blank"]
        for field in ("name", "price", "currency", "commission_rate", "status", "created_by")
    }


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", 5),
        ("description", ["x"]),
        ("category", {"a": 1}),
        ("price", "abc"),
        ("price", "19,99"),
        ("price", " 19.99"),
        ("price", "NaN"),
        ("price", "Infinity"),
        ("price", True),
        ("price", [1]),
        ("currency", 5),
        ("currency", "GBP"),
        ("currency", "eur"),
        ("commission_rate", "ten"),
        ("commission_rate", False),
        ("status", "live"),
        ("status", 1),
        ("created_by", "abc"),
        ("created_by", 1.5),
        ("created_by", True),
    ],
)
def test_wrong_type_or_value_is_only_invalid(valid, field, value):
    assert errors_of(CreateProduct(valid(**{field: value}))) == {field: ["is invalid"]}


@pytest.mark.parametrize(
    "attrs, errors",
    [
        ({"price": "0"}, {"price": ["must be greater than 0"]}),
        ({"price": -5}, {"price": ["must be greater than 0"]}),
        ({"price": "10000000000"}, {"price": ["must be less than 10000000000"]}),
        ({"price": "1.999"}, {"price": ["must have at most 2 decimal place(s)"]}),
        (
            {"price": "0.123456789", "currency": "NXC"},
            {"price": ["must have at most 8 decimal place(s)"]},
        ),
        (
            {"price": "-0.001"},
            {"price": ["must be greater than 0", "must have at most 2 decimal place(s)"]},
        ),
        ({"commission_rate": "-1"}, {"commission_rate": ["must be greater than or equal to 0"]}),
        ({"commission_rate": "100.01"}, {"commission_rate": ["must be less than or equal to 100"]}),
        (
            {"commission_rate": "1.005"},
            {"commission_rate": ["must have at most 2 decimal place(s)"]},
        ),
        ({"name": "n" * 201}, {"name": ["should be at most 200 character(s)"]}),
        ({"description": "d" * 5001}, {"description": ["should be at most 5000 character(s)"]}),
        ({"category": "c" * 101}, {"category": ["should be at most 100 character(s)"]}),
    ],
)
def test_rules(valid, attrs, errors):
    assert errors_of(CreateProduct(valid(**attrs))) == errors


def test_all_errors_at_once(services):
    errors = errors_of(CreateProduct({"name": 1, "price": "0", "currency": "XXX", "status": "x"}))
    assert errors == {
        "name": ["is invalid"],
        "price": ["must be greater than 0"],
        "currency": ["is invalid"],
        "status": ["is invalid"],
        "created_by": ["can't be blank"],
    }


def test_unknown_vendor_does_not_exist_only_when_all_else_passed(valid):
    assert errors_of(CreateProduct(valid(created_by=424242))) == {"created_by": ["does not exist"]}
    assert errors_of(CreateProduct(valid(created_by=2**40))) == {"created_by": ["does not exist"]}
    assert errors_of(CreateProduct(valid(created_by=424242, price="0"))) == {
        "price": ["must be greater than 0"]
    }


# ---------------------------------------------------------------- read, update, delete


def test_get_unknown_product_is_not_found(services):
    for product_id in (4242, 0, "1", None, 2**31, 2**70):
        with pytest.raises(NotFound):
            products(GetProduct(product_id))


def test_update_is_partial_and_validated(valid):
    product = create(valid, description="old")
    updated = products(UpdateProduct(product.id, {"status": "active", "price": "25"}))
    assert (updated.status, updated.price, updated.description) == (
        "active",
        Decimal("25.00"),
        "old",
    )
    assert products(UpdateProduct(product.id, {"description": None})).description is None
    assert errors_of(UpdateProduct(product.id, {"name": "", "price": "x", "status": "y"})) == {
        "name": ["can't be blank"],
        "price": ["is invalid"],
        "status": ["is invalid"],
    }
    assert errors_of(UpdateProduct(product.id, {"created_by": 999999})) == {
        "created_by": ["does not exist"]
    }
    assert products(GetProduct(product.id)).price == Decimal("25.00")


def test_currency_change_rechecks_the_price(valid):
    product = create(valid, price="0.12345678", currency="NXC")
    assert errors_of(UpdateProduct(product.id, {"currency": "EUR"})) == {
        "price": ["must have at most 2 decimal place(s)"]
    }
    updated = products(UpdateProduct(product.id, {"currency": "EUR", "price": "0.12"}))
    assert (str(updated.price), updated.currency) == ("0.12", "EUR")
    assert str(products(UpdateProduct(product.id, {"currency": "NXC"})).price) == "0.12000000"


def test_update_and_delete_unknown_are_not_found(services):
    with pytest.raises(NotFound):
        products(UpdateProduct(4242, {"name": "x"}))
    with pytest.raises(NotFound):
        products(DeleteProduct(4242))


def test_delete(valid):
    product = create(valid)
    assert products(DeleteProduct(product.id)) is None
    with pytest.raises(NotFound):
        products(GetProduct(product.id))


def test_a_caller_changes_only_their_own_and_never_status(valid, vendor):
    other = call(
        "accounts", CreateUser({"email": "c@example.com", "name": "C", "password": "x" * 12})
    ).id
    active = create(valid, status="active")
    draft = create(valid)
    with pytest.raises(Forbidden):  # visible, not theirs
        products(UpdateProduct(active.id, {"name": "Mine now"}, other))
    with pytest.raises(NotFound):  # not even visible to them
        products(UpdateProduct(draft.id, {"name": "Mine now"}, other))
    with pytest.raises(Forbidden):
        products(DeleteProduct(active.id, other))
    with pytest.raises(NotFound):
        products(DeleteProduct(draft.id, other))
    for locked in ({"status": "active"}, {"created_by": other}):
        with pytest.raises(Forbidden):
            products(UpdateProduct(draft.id, {"name": "Renamed", **locked}, vendor))
    assert products(GetProduct(draft.id)) == draft  # nothing was changed
    assert errors_of(UpdateProduct(draft.id, {"price": "0"}, vendor)) == {
        "price": ["must be greater than 0"]
    }
    assert products(UpdateProduct(draft.id, {"name": "Renamed"}, vendor)).name == "Renamed"
    assert products(UpdateProduct(draft.id, {"status": "active"})).status == "active"
    products(DeleteProduct(draft.id, vendor))
    with pytest.raises(NotFound):
        products(DeleteProduct(draft.id, vendor))
    assert products(GetProduct(active.id)) == active


def test_deleting_the_vendor_keeps_the_product(valid, vendor):
    product = create(valid)
    call("accounts", DeleteUser(vendor))
    assert products(GetProduct(product.id)).created_by is None
    assert products(UpdateProduct(product.id, {"name": "Orphan"})).name == "Orphan"


# ---------------------------------------------------------------- listing


def ids(page):
    return [p.id for p in page.items]


def test_filters(valid, vendor):
    other = call(
        "accounts", CreateUser({"email": "o@example.com", "name": "O", "password": "x" * 12})
    ).id
    lamp = create(valid, name="Desk Lamp", category="lighting", status="active")
    bulb = create(valid, name="Bulb", description="A bright LAMP bulb", category="lighting")
    chair = create(valid, name="Chair", category="furniture", created_by=other, status="active")
    odd = create(valid, name="100% cotton_shirt", category="clothes")
    listed = lambda **params: ids(products(ListProducts(params)))  # noqa: E731
    assert listed() == [lamp.id, bulb.id, chair.id, odd.id]
    assert listed(created_by=vendor) == [lamp.id, bulb.id, odd.id]
    assert listed(created_by=str(other)) == [chair.id]
    assert listed(status="active") == [lamp.id, chair.id]
    assert listed(category="lighting") == [lamp.id, bulb.id]
    assert listed(q="lamp") == [lamp.id, bulb.id]
    assert listed(q="LAMP", status="pending") == [bulb.id]
    assert listed(q="%") == [odd.id]  # wildcards match literally
    assert listed(q="o_t") == []  # as a wildcard "_" would match "ott" in "cotton"
    assert listed(q="N_S") == [odd.id]
    assert listed(q="  ") == listed()  # blank means no filter
    assert listed(category="nothing") == []
    assert listed(created_by=2**31) == listed(created_by=-1) == []  # beyond INTEGER: none


def test_a_viewer_sees_active_products_and_their_own(valid, vendor):
    other = call(
        "accounts", CreateUser({"email": "v2@example.com", "name": "V", "password": "x" * 12})
    ).id
    active = create(valid, name="Open lamp", status="active")
    draft = create(valid, name="Draft lamp")
    theirs = create(valid, name="Their lamp", created_by=other)
    retired = create(valid, name="Old lamp", created_by=other, status="archived")
    listed = lambda viewer, **params: ids(products(ListProducts(params, viewer)))  # noqa: E731
    assert listed(None) == [active.id, draft.id, theirs.id, retired.id]
    assert listed(vendor) == [active.id, draft.id]
    assert listed(other) == [active.id, theirs.id, retired.id]
    # The filters narrow what the viewer may see; they never widen it.
    assert listed(vendor, q="lamp", status="pending") == [draft.id]
    assert listed(other, status="pending") == [theirs.id]
    assert listed(vendor, created_by=other) == []
    assert listed(other, created_by=vendor) == [active.id]
    assert listed(10**6) == listed(2**40) == [active.id]  # no products of their own
    page = products(ListProducts({"limit": 1}, other))
    rest = products(ListProducts({"limit": 5, "cursor": page.next_cursor}, other))
    assert ids(page) + ids(rest) == [active.id, theirs.id, retired.id]


def test_invalid_filters(services):
    assert errors_of(ListProducts({"created_by": "x", "status": "gone", "q": 5, "limit": 0})) == {
        "created_by": ["is invalid"],
        "status": ["is invalid"],
        "q": ["is invalid"],
        "limit": ["must be greater than 0"],
    }
    assert errors_of(ListProducts({"limit": 101})) == {
        "limit": ["must be less than or equal to 100"]
    }
    assert errors_of(ListProducts({"cursor": "garbage!"})) == {"cursor": ["is invalid"]}


def test_cursor_pagination_is_stable(valid):
    made = [create(valid, name=f"p{i}", category="a" if i % 2 else "b").id for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "category": "a"} | ({"cursor": cursor} if cursor else {})
        page = products(ListProducts(params))
        seen += ids(page)
        create(valid, name="late", category="a")  # inserts while paging do not reorder
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen[:3] == [i for i in made if made.index(i) % 2][:3]
    assert seen == sorted(seen) and len(seen) == len(set(seen))


def test_list_products_by_user(valid, vendor):
    mine = [create(valid, name=f"m{i}").id for i in range(3)]
    page = products(ListProductsByUser(vendor, {"limit": 2}))
    rest = products(ListProductsByUser(vendor, {"limit": 2, "cursor": page.next_cursor}))
    assert ids(page) + ids(rest) == mine and rest.next_cursor is None
    assert products(ListProductsByUser(4242)) == Page(())


def test_every_filter_is_backed_by_an_index(engine):
    indexes = sa.inspect(engine).get_indexes("products")
    leading = {ix["column_names"][0] for ix in indexes}
    assert {"created_by", "status", "category", "search_text"} <= leading


# ---------------------------------------------------------------- failures


def test_crash_mid_workload_loses_and_duplicates_nothing(valid, engine):
    some_done = threading.Event()
    lock = threading.Lock()
    count = 0

    def worker(t):
        nonlocal count
        outcomes = []
        for i in range(12):
            name = f"t{t}-{i}"
            try:
                outcomes.append((name, create(valid, name=name).id))
            except ActorCrashed:
                outcomes.append((name, None))
            with lock:
                count += 1
                if count == 8:
                    some_done.set()
        return outcomes

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(worker, t) for t in range(4)]
        assert some_done.wait(30)
        with pytest.raises(ActorCrashed):
            products(Crash("test"))
        outcomes = [o for f in futures for o in f.result()]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(products_table.c.name, products_table.c.id)).all()
    names = [name for name, _ in rows]
    assert len(names) == len(set(names))  # nothing duplicated
    succeeded = {(name, pid) for name, pid in outcomes if pid is not None}
    assert succeeded <= set(rows)  # nothing committed was lost
    assert set(names) <= {name for name, _ in outcomes}
    assert products(GetProduct(next(iter(succeeded))[1])).id  # the restarted pool serves
