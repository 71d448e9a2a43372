"""The OpenAPI 3.1 document for every `/api/v1` route: requests, replies and errors."""

from __future__ import annotations

from functools import cache
from typing import Any

from bitnexus.accounts import ROLES
from bitnexus.catalog import PRODUCT_STATUSES
from bitnexus.ledger import TRANSACTION_KINDS
from web.shape import PATH_ID_MAX

Schema = dict[str, Any]


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
    "UserParams": obj(
        {
            "email": STRING,
            "name": STRING,
            "password": {"type": "string", "writeOnly": True},
            "role": {"enum": list(ROLES)},
        },
        [],
    ),
    "NewUser": obj(
        {
            "email": {"type": "string", "pattern": "^[a-z0-9._-]{1,40}@[a-z0-9.-]{1,40}$"},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "password": {"type": "string", "minLength": 12, "maxLength": 64, "writeOnly": True},
            "role": {"enum": ["user", "affiliate"]},
        },
        ["email", "name", "password"],
    ),
    "NewProduct": obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 5000},
            "category": {"type": "string", "maxLength": 100},
            "price": {"type": "string", "pattern": "^[1-9][0-9]{0,5}(\\.[0-9]{1,2})?$"},
            "currency": {"enum": ["EUR", "USD"]},
            "commission_rate": {"type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$"},
        },
        ["name", "price"],
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
    "ProductParams": obj(
        {
            "name": STRING,
            "description": STRING,
            "category": STRING,
            "price": DECIMAL,
            "currency": STRING,
            "commission_rate": DECIMAL,
            "status": {"enum": list(PRODUCT_STATUSES)},
        },
        [],
    ),
    "Posting": obj(
        {
            "account": {"enum": ["world", "wallet"]},
            "user_id": nullable(INTEGER),
            "currency": STRING,
            "amount": DECIMAL,
            "balance_after": DECIMAL,
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
    "TransactionParams": obj(
        {
            "kind": {"enum": list(TRANSACTION_KINDS)},
            "amount": DECIMAL,
            "currency": STRING,
            "recipient_id": ID,
            "product_id": ID,
            "affiliate_id": ID,
            "description": STRING,
            "idempotency_key": {"type": "string", "maxLength": 255},
        },
        ["kind"],
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
        }
    ),
    "Balance": obj({"currency": STRING, "balance": DECIMAL}),
    "Token": obj(
        {
            "token": STRING,
            "token_type": {"const": "Bearer"},
            "expires_in": INTEGER,
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

_PHRASES = {
    400: "Bad Request: malformed JSON, a missing wrapper, or a non-integer id",
    401: "Unauthorized: no valid bearer token",
    403: "Forbidden",
    404: "Not Found",
    406: "Not Acceptable: the Accept header excludes JSON",
    413: "Request Entity Too Large: over 1 MiB",
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
    codes = {400, 406, 414, 431, 503, *errors} | ({413} if body else set())
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
    user_id, product_id, tx_id = path_id("user_id"), path_id("product_id"), path_id("id")
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
                "Log in for a bearer token (HS256 JWT, 24 h)",
                _ok(200, data(ref("Token")), "A token") | _errors(401, 429),
                public=True,
                body={"required": True, **_json(obj({"email": STRING, "password": STRING}))},
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
        "/api/v1/transactions/{id}": {
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
        "/api/v1/ledger/verify/{id}": {
            "parameters": [tx_id],
            "get": operation(
                "A transaction's inclusion proof (a party or admin)",
                _ok(200, data(ref("Proof")), "The proof and verdict"),
            ),
        },
    }


@cache
def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BitNexus API",
            "version": "1.0.0",
            "description": 'Phoenix-compatible JSON API: `{"data": ...}` replies, '
            '`{"errors": ...}` errors, resources wrapped in their singular name.',
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
