"""The OpenAPI document matches the server: every route and method, operationIds and
tags, the configured currencies (NXC included), and request schemas that accept exactly
what the changesets accept (generated values, both directions)."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitnexus import __version__
from bitnexus.accounts import users
from bitnexus.catalog import products
from bitnexus.common.errors import ValidationFailed
from bitnexus.config import DEFAULT_CURRENCIES, Config
from bitnexus.database.schema import MAX_ID
from bitnexus.ledger import requests
from bitnexus.ledger.limits import Limit
from web import Runtime, create_app
from web.openapi import COMMISSION, EMAIL, PASSWORD, USER_NAME, document, price

# The documentation UI itself; the Phoenix socket's transports (their protocol is Phoenix's:
# README.md, Real time) and the operator page's script.
UNDOCUMENTED = {
    "static",
    "docs.ui",
    "docs.asset",
    "socket.websocket",
    "socket.longpoll_transport",
    "admin.asset",
}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule).rstrip("/") or "/"


@pytest.fixture
def bare_app():
    config = dataclasses.replace(Config.from_env({}), secret_key="openapi-secret-" * 3)
    return create_app(config, Runtime())


def test_every_route_is_documented_and_every_documented_route_exists(bare_app):
    served = {
        (method.lower(), openapi_path(rule.rule))
        for rule in bare_app.url_map.iter_rules()
        if rule.endpoint not in UNDOCUMENTED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    paths = document(DEFAULT_CURRENCIES)["paths"]
    documented = {
        (method, path) for path, item in paths.items() for method in item if method != "parameters"
    }
    assert served == documented


def test_operations_have_unique_ids_and_tags():
    doc = document(DEFAULT_CURRENCIES)
    operations = [
        op
        for item in doc["paths"].values()
        for method, op in item.items()
        if method != "parameters"
    ]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    tags = {tag["name"] for tag in doc["tags"]}
    assert all(len(op["tags"]) == 1 and op["tags"][0] in tags for op in operations)


def test_health_version_is_the_document_version(bare_app):
    client = bare_app.test_client()
    spec = client.get("/api/openapi.json").get_json()
    assert spec["info"]["version"] == client.get("/health").get_json()["version"] == __version__


def test_configured_currencies_are_the_enum():
    schemas = document({"EUR": 2, "NXC": 8, "JPY": 0})["components"]["schemas"]
    assert schemas["NewProduct"]["properties"]["currency"] == {"enum": ["EUR", "JPY", "NXC"]}
    assert schemas["TransactionParams"]["properties"]["currency"]["enum"] == ["EUR", "JPY", "NXC"]
    product = jsonschema_rs.validator_for(schemas["NewProduct"])
    assert product.is_valid({"name": "Coin", "price": "0.00000001", "currency": "NXC"})
    assert not product.is_valid({"name": "Coin", "price": "0.001", "currency": "EUR"})
    assert product.is_valid({"name": "Ramen", "price": "800", "currency": "JPY"})
    assert not product.is_valid({"name": "Ramen", "price": "800.5", "currency": "JPY"})
    assert not product.is_valid({"name": "Coin", "price": "1", "currency": "GBP"})


# --- both directions: the schema accepts a value exactly when the changeset does ---------

ASCII = st.characters(min_codepoint=32, max_codepoint=126)
decimal_text = st.from_regex(r"\A\+?[0-9]{0,12}(\.[0-9]{0,10})?\Z") | st.from_regex(
    r"\A\+?\.[0-9]{1,10}\Z"
)
# Outside the comparison, where the document is deliberately narrower than the server:
# surrounding whitespace (the server trims emails), exponents and fractional JSON numbers
# (decimals travel as strings), and signs other than `+`.
emails = st.builds(
    "{}@{}".format,
    st.text(ASCII, min_size=0, max_size=90),
    st.text(ASCII, min_size=0, max_size=90),
).map(str.strip) | st.text(ASCII, max_size=170).map(str.strip)


def user_error(field: str, value: object) -> bool:
    return field in users.changeset({field: value}, {}).errors


def product_error(field: str, value: object, currency: str = "EUR") -> bool:
    params = {field: value, "currency": currency}
    cs = products.changeset(params, {"commission_rate": Decimal(0)}, DEFAULT_CURRENCIES)
    return field in cs.errors


def agree(schema: dict, value: object, server_refuses: bool) -> None:
    assert jsonschema_rs.validator_for(schema).is_valid(value) is not server_refuses, value


@settings(max_examples=300, deadline=None, database=None)
@given(value=emails)
def test_email_schema_and_changeset_agree(value):
    agree(EMAIL, value, user_error("email", value))


@settings(max_examples=200, deadline=None, database=None)
@given(field=st.sampled_from(["name", "password"]), value=st.text(ASCII, max_size=120))
def test_name_and_password_schemas_and_changeset_agree(field, value):
    schema = {"name": USER_NAME, "password": PASSWORD}[field]
    agree(schema, value, user_error(field, value))


@settings(max_examples=400, deadline=None, database=None)
@given(
    currency=st.sampled_from(sorted(DEFAULT_CURRENCIES)),
    value=decimal_text | st.integers(min_value=-5, max_value=2 * products.PRICE_LIMIT),
)
def test_price_schema_and_changeset_agree(currency, value):
    schema = price(DEFAULT_CURRENCIES[currency])
    agree(schema, value, product_error("price", value, currency))


@settings(max_examples=300, deadline=None, database=None)
@given(value=decimal_text | st.integers(min_value=-5, max_value=200))
def test_commission_schema_and_changeset_agree(value):
    agree(COMMISSION, value, product_error("commission_rate", value))


@settings(max_examples=200, deadline=None, database=None)
@given(
    field=st.sampled_from(["name", "description", "category"]),
    value=st.text(ASCII, max_size=600),
)
def test_product_text_schemas_and_changeset_agree(field, value):
    schema = document(DEFAULT_CURRENCIES)["components"]["schemas"]["ProductParams"]
    agree(schema["properties"][field], value, product_error(field, value))


# A transaction's fields as a client sends them: each kind's own fields, present or not.
# Outside the comparison: fields a kind does not take (the server ignores them), ids past
# the tables' MAX_ID (the server answers "does not exist", as for any id it has no row
# for), the per-transaction limits (configured; 422 over them) and an empty currency or
# price (the server reads an empty string as absent, as Ecto does: a purchase without a
# price is valid, an empty one too, while the document asks for a price or none).
party_id = st.integers(min_value=-2, max_value=MAX_ID)
TRANSACTION_VALUES = {
    "amount": decimal_text | st.integers(min_value=-5, max_value=2 * requests.AMOUNT_LIMIT),
    "price": decimal_text.filter(bool)
    | st.integers(min_value=-5, max_value=2 * requests.AMOUNT_LIMIT),
    "currency": st.sampled_from([*sorted(DEFAULT_CURRENCIES), "GBP", "eur"]),
    "recipient_id": party_id,
    "product_id": party_id,
    "affiliate_id": party_id,
    "description": st.text(ASCII, max_size=600),
    "idempotency_key": st.text(ASCII, max_size=300),
}


@st.composite
def transactions(draw) -> dict:
    kind = draw(st.sampled_from(sorted(requests.FIELDS)))
    fields = (*requests.FIELDS[kind], "description", "idempotency_key")
    present = draw(st.lists(st.sampled_from(fields), unique=True))
    return {"kind": kind, **{field: draw(TRANSACTION_VALUES[field]) for field in present}}


# Above every amount the schema allows: the limits are configured (422 over them).
UNLIMITED = {code: Limit(10**30, 10**30) for code in DEFAULT_CURRENCIES}


def transaction_refused(attrs: dict) -> bool:
    try:
        requests.cast_request(-1, attrs, DEFAULT_CURRENCIES, UNLIMITED)  # -1: never a party
    except ValidationFailed:
        return True
    return False


@settings(max_examples=500, deadline=None, database=None)
@given(attrs=transactions())
def test_transaction_schema_and_cast_request_agree(attrs):
    schema = document(DEFAULT_CURRENCIES)["components"]["schemas"]["TransactionParams"]
    agree(schema, attrs, transaction_refused(attrs))


def test_the_docs_ui_is_served_from_the_package(bare_app):
    client = bare_app.test_client()
    page = client.get("/api/docs", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "//" not in html.replace("<!doctype html>", "")  # no URL to another host
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(sources) == 4
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.content_type.split(";")[0] in {"text/css", "text/javascript"}
    init = client.get("/api/docs/init.js").get_data(as_text=True)
    assert '"/api/openapi.json"' in init
    assert client.get("/api/docs/index.html").status_code == 404  # only the files it needs
