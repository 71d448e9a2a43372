"""The exact bytes a product and a transaction render to: timestamps as Ecto encodes them,
decimals in their currency's places, field order and separators as the clients see them."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bitnexus.catalog import Product
from bitnexus.database.schema import products
from bitnexus.ledger import Posting, Transaction
from web import render, responses

STAMP = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value, text",
    [
        (STAMP, "2026-01-02T03:04:05Z"),
        (STAMP.replace(microsecond=120), "2026-01-02T03:04:05.000120Z"),
        (STAMP.replace(tzinfo=ZoneInfo("Etc/UTC")), "2026-01-02T03:04:05Z"),
        (STAMP.astimezone(dt.timezone(dt.timedelta(hours=1))), "2026-01-02T04:04:05+01:00"),
        (dt.datetime(1, 1, 1, tzinfo=dt.UTC), "0001-01-01T00:00:00Z"),
    ],
)
def test_timestamps(value, text):
    assert render.iso(value) == text


def test_timestamps_as_the_datetime_formats_them():
    rng = random.Random(12)
    zones = [dt.UTC, ZoneInfo("Etc/UTC"), ZoneInfo("Europe/Berlin"), None]
    for _ in range(20_000):
        value = dt.datetime.min + dt.timedelta(seconds=rng.randrange(10**11))
        value = value.replace(microsecond=rng.choice([0, rng.randrange(10**6)]))
        value = value.replace(tzinfo=rng.choice(zones), fold=rng.randrange(2))
        assert render.iso(value) == value.isoformat().replace("+00:00", "Z"), repr(value)


@pytest.mark.parametrize(
    "value, text",
    [
        (Decimal(1999).scaleb(-2), "19.99"),
        (Decimal(1990).scaleb(-2), "19.90"),
        (Decimal(0).scaleb(-2), "0.00"),
        (Decimal(800), "800"),
        (Decimal(1).scaleb(-8), "0.00000001"),
        (Decimal("1E+2"), "100"),
        (Decimal("-1.50"), "-1.50"),
        (Decimal(999999999999).scaleb(-2), "9999999999.99"),
    ],
)
def test_decimals(value, text):
    assert render.decimal(value) == text


def test_decimals_as_fixed_point_formats_them():
    rng = random.Random(12)
    special = [Decimal(x) for x in ("NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "-0")]
    for _ in range(20_000):
        value = Decimal(rng.choice([0, rng.randrange(-(10**20), 10**20)])).scaleb(
            rng.randrange(-12, 4)
        )
        assert render.decimal(value) == format(value, "f"), repr(value)
    for value in special:
        assert render.decimal(value) == format(value, "f"), repr(value)


PRODUCT = Product(
    id=7,
    name="Lamp «ü»",
    description='A "quoted"\nline',
    category=None,
    price=Decimal(1990).scaleb(-2),
    currency="EUR",
    commission_rate=Decimal(1250).scaleb(-2),
    status="active",
    created_by=3,
    inserted_at=STAMP,
    updated_at=STAMP.replace(second=6),
)
PRODUCT_JSON = (
    '{"id":7,"name":"Lamp «ü»","description":"A \\"quoted\\"\\nline","category":null,'
    '"price":"19.90","currency":"EUR","commission_rate":"12.50","status":"active",'
    '"created_by":3,"inserted_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:06Z"}'
)


def test_a_product_renders_exactly():
    assert responses.data(render.product(PRODUCT)).get_data(as_text=True) == (
        '{"data":' + PRODUCT_JSON + "}\n"
    )


def test_a_transaction_renders_exactly():
    transaction = Transaction(
        id=11,
        kind="purchase",
        amount=Decimal(1990).scaleb(-2),
        currency="EUR",
        user_id=3,
        recipient_id=4,
        product_id=7,
        affiliate_id=None,
        description=None,
        idempotency_key="k-1",
        postings=(
            Posting(3, "EUR", Decimal(-1990).scaleb(-2), Decimal(1).scaleb(-2)),
            Posting(4, "EUR", Decimal(1990).scaleb(-2), None),
        ),
        block_index=2,
        hash="ab" * 32,
        inserted_at=STAMP,
    )
    assert responses.data(render.transaction(transaction)).get_data(as_text=True) == (
        '{"data":{"id":11,"kind":"purchase","status":"posted","amount":"19.90",'
        '"currency":"EUR","user_id":3,"recipient_id":4,"product_id":7,"affiliate_id":null,'
        '"description":null,"idempotency_key":"k-1","postings":['
        '{"account":"wallet","user_id":3,"currency":"EUR","amount":"-19.90",'
        '"balance_after":"0.01"},'
        '{"account":"wallet","user_id":4,"currency":"EUR","amount":"19.90",'
        '"balance_after":null}],'
        '"block_index":2,"hash":"' + "ab" * 32 + '","inserted_at":"2026-01-02T03:04:05Z"}}\n'
    )


def test_the_product_index_and_show_render_stored_rows_exactly(client, engine, admin):
    """From the row to the bytes, on both databases: minor units in the currency's places,
    timestamps in UTC with a `Z`."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(products),
            {"id": 7, "name": PRODUCT.name, "description": PRODUCT.description,
             "price_minor": 1990, "currency": "EUR", "commission_bp": 1250, "status": "active",
             "created_by": None, "search_text": "lamp", "inserted_at": STAMP,
             "updated_at": STAMP.replace(second=6)},
        )  # fmt: skip
    expected = PRODUCT_JSON.replace('"created_by":3', '"created_by":null')
    index = client.get("/api/v1/products", headers=admin.headers)
    assert index.get_data(as_text=True) == '{"data":[' + expected + '],"meta":{"next":null}}\n'
    show = client.get("/api/v1/products/7", headers=admin.headers)
    assert show.get_data(as_text=True) == '{"data":' + expected + "}\n"
