"""The OpenAPI 3.1 document for every route: requests, replies and errors.

Request schemas are built from the constants and formats the changesets validate with
(exported by bitnexus.accounts and bitnexus.catalog) and the configured currencies, so a
value the server accepts is one the document accepts (tests/web/test_http_openapi.py
checks both directions).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from bitnexus import __version__, accounts, catalog, ledger
from bitnexus.accounts import ROLES
from bitnexus.catalog import PRODUCT_STATUSES
from bitnexus.ledger import TRANSACTION_KINDS
from web.shape import PATH_ID_MAX

Schema = dict[str, Any]

SELF_ROLES = ["user", "affiliate"]  # registration cannot make an admin


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    return schema


STRING, INTEGER, DECIMAL = {"type": "string"}, {"type": "integer"}, {"type": "string"}
ID = {"type": "integer", "minimum": 1, "maximum": PATH_ID_MAX}
TIMESTAMP = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Schema] = {
    "User": obj(
        {
            "id": INTEGER,
            "email": STRING,
            "name": STRING,
            "role": {"enum": list(ROLES)},
            "inserted_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        }
    ),
    "Product": obj(
        {
            "id": INTEGER,
            "name": STRING,
            "description": nullable(STRING),
            "category": nullable(STRING),
            "price": DECIMAL,
            "currency": STRING,
            "commission_rate": DECIMAL,
            "status": {"enum": list(PRODUCT_STATUSES)},
            "created_by": nullable(INTEGER),
            "inserted_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        }
    ),
    "Posting": obj(
        {
            "account": {"enum": ["world", "wallet"]},
            "user_id": nullable(INTEGER),
            "currency": STRING,
            "amount": DECIMAL,
            "balance_after": nullable(DECIMAL),  # null on another party's wallet
        }
    ),
    "Transaction": obj(
        {
            "id": INTEGER,
            "kind": {"enum": list(TRANSACTION_KINDS)},
            "status": STRING,
            "amount": DECIMAL,
            "currency": STRING,
            "user_id": INTEGER,
            "recipient_id": nullable(INTEGER),
            "product_id": nullable(INTEGER),
            "affiliate_id": nullable(INTEGER),
            "description": nullable(STRING),
            "idempotency_key": nullable(STRING),
            "postings": {"type": "array", "items": ref("Posting")},
            "block_index": INTEGER,
            "hash": STRING,
            "inserted_at": TIMESTAMP,
        }
    ),
    "HistoryEntry": {
        "allOf": [ref("Posting"), obj({"transaction": ref("Transaction")})],
    },
    "Block": obj(
        {
            "index": INTEGER,
            "previous_hash": nullable(STRING),
            "merkle_root": nullable(STRING),
            "timestamp": TIMESTAMP,
            "transaction_count": INTEGER,
            "hash": STRING,
            "transactions": {"type": "array", "items": ref("Transaction")},
        }
    ),
    "Proof": obj(
        {
            "transaction_id": INTEGER,
            "verdict": {"enum": ["valid", "invalid"]},
            "problems": {"type": "array", "items": STRING},
            "transaction_hash": STRING,
            "computed_hash": STRING,
            "merkle_proof": {
                "type": "array",
                "items": obj({"side": {"enum": ["left", "right"]}, "hash": STRING}),
            },
            "block": {"type": "object"},
            "head_index": INTEGER,
            # The links are checked up to this signed checkpoint (null: up to the head).
            "checkpoint": nullable(ref("Checkpoint")),
        }
    ),
    "Checkpoint": obj(
        {
            "index": INTEGER,
            "hash": STRING,
            "signed_at": TIMESTAMP,
            "public_key": STRING,
            "signature": STRING,
        }
    ),
    "Checkpoints": obj(
        {"public_key": STRING, "checkpoints": {"type": "array", "items": ref("Checkpoint")}}
    ),
    "PublicKey": obj({"algorithm": {"const": "Ed25519"}, "format": STRING, "public_key": STRING}),
    "Balance": obj({"currency": STRING, "balance": DECIMAL}),
    "Token": obj(
        {
            "token": STRING,
            "token_type": {"const": "Bearer"},
            "expires_in": INTEGER,
            "refresh_token": STRING,
            "user": ref("User"),
        }
    ),
    "PageMeta": obj({"next": nullable(STRING)}),
    "ErrorDetail": obj({"errors": obj({"detail": STRING})}),
    "ValidationErrors": obj(
        {
            "errors": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {
                    "type": "array",
                    "items": STRING,
                    "minItems": 1,
                },
            }
        }
    ),
}


def decimal_string(integer_digits: int, places: int) -> str:
    """A pattern for a positive decimal string below 10**integer_digits with at most
    `places` significant decimal places (trailing zeros do not count, as in the changeset).
    """
    fraction = rf"(\.[0-9]{{0,{places}}}0*)?" if places else r"(\.0*)?"
    short = rf"|\.[0-9]{{1,{places}}}0*" if places else ""
    return rf"^\+?(?=[^1-9]*[1-9])(0*[0-9]{{1,{integer_digits}}}{fraction}{short})$"


PRICE_DIGITS = len(str(catalog.PRICE_LIMIT)) - 1  # PRICE_LIMIT is a power of ten
assert 10**PRICE_DIGITS == catalog.PRICE_LIMIT


def price(places: int) -> Schema:
    """A price or a transaction's amount (their limit is one: the ledger's AMOUNT_LIMIT): a
    decimal string, or a whole number (decimals travel as strings)."""
    return {
        "anyOf": [
            {"type": "string", "pattern": decimal_string(PRICE_DIGITS, places)},
            {"type": "integer", "minimum": 1, "maximum": catalog.PRICE_LIMIT - 1},
        ]
    }


COMMISSION = {
    "anyOf": [
        {
            "type": "string",
            "pattern": rf"^\+?(0*[0-9]{{1,2}}(\.[0-9]{{0,{catalog.COMMISSION_PLACES}}}0*)?"
            rf"|0*100(\.0*)?|\.[0-9]{{1,{catalog.COMMISSION_PLACES}}}0*)$",
        },
        {"type": "integer", "minimum": 0, "maximum": 100},
    ]
}
NOT_BLANK = r"\S"  # a required field of only whitespace is blank, as in Ecto
EMAIL = {
    "type": "string",
    "pattern": accounts.EMAIL_FORMAT.pattern,
    "maxLength": accounts.EMAIL_MAX,
}
USER_NAME = {"type": "string", "pattern": NOT_BLANK, "maxLength": accounts.NAME_MAX}
PASSWORD = {
    "type": "string",
    "pattern": NOT_BLANK,
    "minLength": accounts.PASSWORD_MIN,
    "writeOnly": True,
}


def request_schemas(currencies: Mapping[str, int]) -> dict[str, Schema]:
    """The request bodies' schemas for the configured `currencies` (code: places)."""
    currency = {"enum": sorted(currencies)}
    price_rules = places_rules(("price",), currencies, catalog.DEFAULT_CURRENCY)
    widest = price(max(currencies.values(), default=0))
    product_fields = {
        "name": {"type": "string", "pattern": NOT_BLANK, "maxLength": catalog.NAME_MAX},
        "description": {"type": "string", "maxLength": catalog.DESCRIPTION_MAX},
        "category": {"type": "string", "maxLength": catalog.CATEGORY_MAX},
        "price": widest,
        "currency": currency,
        "commission_rate": COMMISSION,
    }
    return {
        "NewUser": obj(
            {"email": EMAIL, "name": USER_NAME, "password": PASSWORD, "role": {"enum": SELF_ROLES}},
            ["email", "name", "password"],
        ),
        "UserParams": obj(
            {
                "email": EMAIL,
                "name": USER_NAME,
                "password": PASSWORD,
                "role": {"enum": list(ROLES)},
            },
            [],
        ),
        "NewProduct": {**obj(product_fields, ["name", "price"]), "allOf": price_rules},
        "ProductParams": {
            **obj({**product_fields, "status": {"enum": list(PRODUCT_STATUSES)}}, []),
            "allOf": price_rules,
        },
        "TransactionParams": {
            **obj(
                {
                    "kind": {"enum": list(TRANSACTION_KINDS)},
                    "amount": widest,
                    "currency": currency,
                    "recipient_id": ID,
                    "product_id": ID,
                    "affiliate_id": ID,
                    "price": widest,  # a purchase's expected price, with its `currency`
                    "description": {"type": "string", "maxLength": ledger.DESCRIPTION_MAX},
                    "idempotency_key": {"type": "string", "maxLength": ledger.KEY_MAX},
                },
                ["kind"],
            ),
            "allOf": [
                *places_rules(("amount", "price"), currencies, None),
                *(
                    when_kind(kind, {"required": list(fields)})
                    for kind, fields in ledger.REQUIRED.items()
                ),
                when_kind("purchase", {"dependentRequired": {"price": ["currency"]}}),
                when_kind("purchase", {"dependentRequired": {"currency": ["price"]}}),
            ],
        },
    }


def places_rules(
    fields: tuple[str, ...], currencies: Mapping[str, int], default: str | None
) -> list[Schema]:
    """`fields` (decimals) have the decimal places of the body's currency, or of `default`
    when the body names none."""
    rules: list[Schema] = [
        {
            "if": {"required": ["currency"], "properties": {"currency": {"const": code}}},
            "then": {"properties": {field: price(places) for field in fields}},
        }
        for code, places in sorted(currencies.items())
    ]
    if default in currencies:
        rules.append(
            {
                "if": {"not": {"required": ["currency"]}},
                "then": {"properties": {field: price(currencies[default]) for field in fields}},
            }
        )
    return rules


def when_kind(kind: str, then: Schema) -> Schema:
    """`then` applies to a transaction of `kind`."""
    return {"if": {"required": ["kind"], "properties": {"kind": {"const": kind}}}, "then": then}


_PHRASES = {
    400: "Bad Request: malformed JSON, a missing wrapper, or a non-integer id",
    401: "Unauthorized: no valid bearer token",
    403: "Forbidden",
    404: "Not Found",
    406: "Not Acceptable: the Accept header excludes JSON",
    413: "Request Entity Too Large: over 1 MiB",
    415: "Unsupported Media Type: a body that is not JSON",
    414: "URI Too Long: a request line over 4 KiB",
    429: "Too Many Requests: failed logins rate-limited (with Retry-After)",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable (with Retry-After)",
}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Schema]:
    responses = {
        str(code): {"description": _PHRASES[code], **_json(ref("ErrorDetail"))} for code in codes
    }
    for code in {429, 503} & set(codes):
        responses[str(code)]["headers"] = {"retry-after": {"schema": {"type": "string"}}}
    return responses


def _ok(status: int, schema: Schema | None, description: str, **headers: Schema) -> Schema:
    response: Schema = {"description": description}
    if schema is not None:
        response.update(_json(schema))
    if headers:
        response["headers"] = headers
    return {str(status): response}


def data(schema: Schema) -> Schema:
    return obj({"data": schema})


def page(item: Schema) -> Schema:
    return obj({"data": {"type": "array", "items": item}, "meta": ref("PageMeta")})


def wrapper(name: str, params: str) -> Schema:
    return {"required": True, **_json(obj({name: ref(params)}))}


def path_id(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {**ID, "minimum": 0}}


def query(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema}


PAGING = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
    query("after", STRING),
]
LOCATION = {"location": {"schema": STRING}}


def operation(
    summary: str,
    responses: dict[str, Schema],
    *,
    public: bool = False,
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
    errors: tuple[int, ...] = (403, 404),
) -> Schema:
    """One operation with the error replies every route can give (and its own)."""
    # 414 and 431: a request line or headers over gunicorn's limits, refused before the app.
    codes = {400, 406, 414, 431, 503, *errors} | ({413, 415} if body else set())
    codes |= set() if public else {401}
    op: Schema = {
        "summary": summary,
        "responses": {
            **responses,
            **_errors(*sorted(codes)),
            "422": {"description": "Validation failed", **_json(ref("ValidationErrors"))},
        },
    }
    if not public:
        op["security"] = [{"bearer": []}]
    if body is not None:
        op["requestBody"] = body
    if parameters:
        op["parameters"] = parameters
    return op


def _paths() -> dict[str, Schema]:
    user, product, tx = ref("User"), ref("Product"), ref("Transaction")
    user_id, product_id = path_id("user_id"), path_id("product_id")
    tx_id = path_id("transaction_id")
    product_filters = [
        query("created_by", ID),
        query("status", {"enum": list(PRODUCT_STATUSES)}),
        query("category", STRING),
        query("q", STRING),
        *PAGING,
    ]
    return {
        "/api/v1/auth/register": {
            "post": operation(
                "Register as a user or affiliate",
                _ok(201, data(user), "The new user", **LOCATION),
                public=True,
                body=wrapper("user", "NewUser"),
                errors=(403,),
            )
        },
        "/api/v1/auth/login": {
            "post": operation(
                "Log in for a bearer token (HS256 JWT, 15 min) and a refresh token",
                _ok(200, data(ref("Token")), "A token") | _errors(401, 429),
                public=True,
                body={"required": True, **_json(obj({"email": STRING, "password": STRING}))},
                errors=(),
            )
        },
        "/api/v1/auth/refresh": {
            "post": operation(
                "A new bearer token and the next refresh token (the one sent is retired; "
                "sending a retired one again revokes its family)",
                _ok(200, data(ref("Token")), "A token") | _errors(401),
                public=True,
                body={"required": True, **_json(obj({"refresh_token": STRING}))},
                errors=(),
            )
        },
        "/api/v1/auth/logout": {
            "post": operation(
                "End every token of the caller", {"204": {"description": "Logged out"}}, errors=()
            )
        },
        "/api/v1/ledger/checkpoints": {
            "get": operation(
                "The public key and every signed checkpoint (Ed25519 over the head's index, "
                "hash and signing time): keep it to audit the chain later",
                _ok(200, data(ref("Checkpoints")), "The checkpoints"),
                public=True,
                errors=(),
            )
        },
        "/api/v1/ledger/public-key": {
            "get": operation(
                "The key that signs checkpoints",
                _ok(200, data(ref("PublicKey")), "The key"),
                public=True,
                errors=(),
            )
        },
        "/api/v1/auth/me": {"get": operation("The caller", _ok(200, data(user), "The caller"))},
        "/api/v1/users": {
            "get": operation("Users (admin)", _ok(200, page(user), "A page"), parameters=PAGING),
            "post": operation(
                "Create a user (admin)",
                _ok(201, data(user), "The new user", **LOCATION),
                body=wrapper("user", "NewUser"),
            ),
        },
        "/api/v1/users/{user_id}": {
            "parameters": [user_id],
            "get": operation("A user (self or admin)", _ok(200, data(user), "The user")),
            "patch": operation(
                "Update a user (self or admin; role: admin only)",
                _ok(200, data(user), "The user"),
                body=wrapper("user", "UserParams"),
            ),
            "put": operation(
                "Update a user (partial, as PATCH)",
                _ok(200, data(user), "The user"),
                body=wrapper("user", "UserParams"),
            ),
            "delete": operation("Delete a user (self or admin)", _ok(204, None, "Deleted")),
        },
        "/api/v1/users/{user_id}/products": {
            "parameters": [user_id],
            "get": operation(
                "A vendor's products", _ok(200, page(product), "A page"), parameters=PAGING
            ),
        },
        "/api/v1/users/{user_id}/balances": {
            "parameters": [user_id],
            "get": operation(
                "Balances per currency (self or admin)",
                _ok(200, data({"type": "array", "items": ref("Balance")}), "Balances"),
            ),
        },
        "/api/v1/products": {
            "get": operation(
                "Active products and the caller's own (admin: all)",
                _ok(200, page(product), "A page"),
                parameters=product_filters,
            ),
            "post": operation(
                "Create a product (the caller is its vendor; status pending)",
                _ok(201, data(product), "The new product", **LOCATION),
                body=wrapper("product", "NewProduct"),
            ),
        },
        "/api/v1/products/{product_id}": {
            "parameters": [product_id],
            "get": operation("A product", _ok(200, data(product), "The product")),
            "patch": operation(
                "Update a product (vendor: not status; admin: all)",
                _ok(200, data(product), "The product"),
                body=wrapper("product", "ProductParams"),
            ),
            "put": operation(
                "Update a product (partial, as PATCH)",
                _ok(200, data(product), "The product"),
                body=wrapper("product", "ProductParams"),
            ),
            "delete": operation("Delete a product (vendor or admin)", _ok(204, None, "Deleted")),
        },
        "/api/v1/transactions": {
            "get": operation(
                "The caller's transactions (as initiator or any party)",
                _ok(200, page(tx), "A page"),
                parameters=[
                    query("kind", {"enum": list(TRANSACTION_KINDS)}),
                    query("currency", STRING),
                    *PAGING,
                ],
            ),
            "post": operation(
                "Record a transaction; Idempotency-Key makes a retry safe",
                _ok(
                    201,
                    data(tx),
                    "The transaction (a replay has Idempotent-Replayed: true)",
                    **LOCATION,
                    **{"idempotent-replayed": {"schema": {"const": "true"}}},
                ),
                body=wrapper("transaction", "TransactionParams"),
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 255,
                            "pattern": "^[A-Za-z0-9._~-]+$",
                        },
                    }
                ],
            ),
        },
        "/api/v1/transactions/{transaction_id}": {
            "parameters": [tx_id],
            "get": operation("A transaction (a party or admin)", _ok(200, data(tx), "It")),
        },
        "/api/v1/ledger/transactions/{user_id}": {
            "parameters": [user_id],
            "get": operation(
                "A user's ledger history, newest first (self or admin)",
                _ok(200, page(ref("HistoryEntry")), "A page"),
                parameters=[query("currency", STRING), *PAGING],
            ),
        },
        "/api/v1/ledger/block/{index}": {
            "parameters": [path_id("index")],
            "get": operation("A block and its transactions", _ok(200, data(ref("Block")), "It")),
        },
        "/api/v1/ledger/verify/{transaction_id}": {
            "parameters": [tx_id],
            "get": operation(
                "A transaction's inclusion proof (a party or admin)",
                _ok(200, data(ref("Proof")), "The proof and verdict"),
            ),
        },
    }


OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("post", "/api/v1/auth/register"): ("register", "auth"),
    ("post", "/api/v1/auth/login"): ("login", "auth"),
    ("get", "/api/v1/auth/me"): ("me", "auth"),
    ("post", "/api/v1/auth/refresh"): ("refresh", "auth"),
    ("post", "/api/v1/auth/logout"): ("logout", "auth"),
    ("get", "/api/v1/ledger/checkpoints"): ("listCheckpoints", "ledger"),
    ("get", "/api/v1/ledger/public-key"): ("getPublicKey", "ledger"),
    ("post", "/admin/ledger/checkpoints"): ("signCheckpoint", "admin"),
    ("get", "/api/v1/users"): ("listUsers", "users"),
    ("post", "/api/v1/users"): ("createUser", "users"),
    ("get", "/api/v1/users/{user_id}"): ("getUser", "users"),
    ("patch", "/api/v1/users/{user_id}"): ("updateUser", "users"),
    ("put", "/api/v1/users/{user_id}"): ("replaceUser", "users"),
    ("delete", "/api/v1/users/{user_id}"): ("deleteUser", "users"),
    ("get", "/api/v1/users/{user_id}/products"): ("listUserProducts", "users"),
    ("get", "/api/v1/users/{user_id}/balances"): ("getBalances", "users"),
    ("get", "/api/v1/products"): ("listProducts", "products"),
    ("post", "/api/v1/products"): ("createProduct", "products"),
    ("get", "/api/v1/products/{product_id}"): ("getProduct", "products"),
    ("patch", "/api/v1/products/{product_id}"): ("updateProduct", "products"),
    ("put", "/api/v1/products/{product_id}"): ("replaceProduct", "products"),
    ("delete", "/api/v1/products/{product_id}"): ("deleteProduct", "products"),
    ("get", "/api/v1/transactions"): ("listTransactions", "transactions"),
    ("post", "/api/v1/transactions"): ("createTransaction", "transactions"),
    ("get", "/api/v1/transactions/{transaction_id}"): ("getTransaction", "transactions"),
    ("get", "/api/v1/ledger/transactions/{user_id}"): ("getLedgerHistory", "ledger"),
    ("get", "/api/v1/ledger/block/{index}"): ("getBlock", "ledger"),
    ("get", "/api/v1/ledger/verify/{transaction_id}"): ("verifyTransaction", "ledger"),
    ("get", "/health"): ("health", "operations"),
    ("get", "/ready"): ("ready", "operations"),
    ("get", "/metrics"): ("metrics", "operations"),
    ("get", "/api/openapi.json"): ("openapi", "operations"),
    ("get", "/admin"): ("adminPage", "admin"),
    ("get", "/admin/supervision"): ("getSupervisionTree", "admin"),
    ("get", "/admin/supervision/events"): ("getSupervisionEvents", "admin"),
    ("post", "/admin/supervision/{path}/restart"): ("restartNode", "admin"),
    ("post", "/admin/supervision/{path}/terminate"): ("terminateNode", "admin"),
    ("post", "/admin/supervision/{path}/crash"): ("crashNode", "admin"),
    ("get", "/admin/ledger/verify"): ("verifyLedger", "admin"),
}
TAGS = [
    {"name": "auth", "description": "Registration, login, the caller"},
    {"name": "users", "description": "Users, their products and balances"},
    {"name": "products", "description": "The catalog"},
    {"name": "transactions", "description": "Deposits, withdrawals, transfers, purchases"},
    {"name": "ledger", "description": "History, blocks and inclusion proofs"},
    {"name": "operations", "description": "Probes, metrics and this document (no token)"},
    {"name": "admin", "description": "Operators: the operator token or an admin's JWT"},
]


def _operations_paths() -> dict[str, Schema]:
    """/health, /ready, /metrics, this document, and the operator routes."""
    status_body = {"type": "object", "properties": {"status": STRING}, "required": ["status"]}
    probe = {"description": "Up", **_json(status_body)}
    down = {"description": "Down, or not ready (with the reason)", **_json(status_body)}
    text = {"description": "Prometheus text or OpenMetrics (by Accept)"}
    text["content"] = {"text/plain": {"schema": STRING}}
    text["content"]["application/openmetrics-text"] = {"schema": STRING}
    node = {"name": "path", "in": "path", "required": True, "schema": STRING}
    action = {"description": "Done", **_json(data({"type": "object"}))}

    def admin(summary: str, ok: Schema, **extra: Any) -> Schema:
        return operation(summary, ok, errors=(403, 404), **extra)

    def public(summary: str, responses: Schema) -> Schema:
        return {"summary": summary, "responses": responses}

    return {
        "/health": {"get": public("Database reachable and migrated", {"200": probe, "503": down})},
        "/ready": {"get": public("Migrated, every actor running", {"200": probe, "503": down})},
        "/metrics": {"get": public("Prometheus metrics of every worker", {"200": text})},
        "/api/openapi.json": {
            "get": public("This document", {"200": {"description": "OpenAPI 3.1", **_json({})}})
        },
        "/admin": {
            "get": admin(
                "The live supervision tree, drawn (token in the query for a browser)",
                {"200": {"description": "HTML", "content": {"text/html": {"schema": STRING}}}},
                parameters=[query("token", STRING)],
            )
        },
        "/admin/supervision": {"get": admin("The tree as data", {"200": action})},
        "/admin/supervision/events": {
            "get": admin(
                "Supervisor decisions after a sequence number",
                {"200": {"description": "Events", **_json({"type": "object"})}},
                parameters=[query("after", {"type": "integer", "minimum": 0})],
            )
        },
        **{
            f"/admin/supervision/{{path}}/{verb}": {
                "parameters": [node],
                "post": admin(f"{verb.title()} a node (e.g. root/services/ledger)", ok),
            }
            for verb, ok in (
                ("restart", {"200": action}),
                ("terminate", {"200": action}),
                ("crash", {"202": action}),
            )
        },
        "/admin/ledger/verify": {
            "get": admin("Walk the whole chain and every balance", {"200": action})
        },
        "/admin/ledger/checkpoints": {"post": admin("Sign the current head now", {"201": action})},
    }


@cache
def _document(currencies: tuple[tuple[str, int], ...]) -> Schema:
    paths = {**_paths(), **_operations_paths()}
    for path, item in paths.items():
        for method, op in item.items():
            if method != "parameters":
                op["operationId"], tag = OPERATIONS[(method, path)]
                op["tags"] = [tag]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BitNexus API",
            "version": __version__,
            "description": 'Phoenix-compatible JSON API: `{"data": ...}` replies, '
            '`{"errors": ...}` errors, resources wrapped in their singular name.',
        },
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, **request_schemas(dict(currencies))},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def document(currencies: Mapping[str, int]) -> Schema:
    """The document for a server with these currencies (code: decimal places)."""
    return _document(tuple(sorted(currencies.items())))
