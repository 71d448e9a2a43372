"""Checks of a request's shape (never of field values, which the services validate)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from flask import g, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import BaseConverter

from bitnexus.common import text
from bitnexus.database import BIGINT_MAX

MAX_BODY_BYTES = 1024 * 1024
# Path ids parse as Ecto's :id, a 64-bit integer; past it a segment is a bad id (400).
# Between the INTEGER columns' MAX_ID and this, an id names no row: the service says 404.
PATH_ID_MAX = BIGINT_MAX


class BadId(str):
    """A path segment that should have been an integer id; answered 400 after auth."""


class IdConverter(BaseConverter):
    """`<id:name>`: any segment; integers become `int`, anything else a `BadId`.

    Phoenix parses ids in the controller, after the auth pipeline: so an anonymous
    `/users/abc` is a 401 and an authenticated one a 400, never a routing 404.
    """

    regex = r"[^/]+"
    part_isolating = True

    def to_python(self, value: str) -> int | BadId:
        if value.isascii() and value.isdigit() and int(value) <= PATH_ID_MAX:
            return int(value)
        return BadId(value)

    def to_url(self, value: object) -> str:
        return str(value)


def reject_bad_ids() -> None:
    """400 when a path id is not an integer."""
    if any(isinstance(v, BadId) for v in (request.view_args or {}).values()):
        raise BadRequest()


def parse_body() -> None:
    """Parse a JSON body into `g.params`, as Plug.Parsers does before the router.

    Only a JSON content type is parsed; any other non-empty body is 415. A top-level
    value that is not an object is kept under `_json`, as Plug does.
    """
    g.params = {}
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        return
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType()  # a form or text body: before authentication
    try:
        value = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest() from None
    # A lone surrogate arrives only as a `\\uD800` escape: valid JSON, but not Unicode text
    # (no UTF-8 encoding), so as malformed as invalid UTF-8 bytes are.
    if b"\\u" in raw and not _all_unicode(value):
        raise BadRequest()
    g.params = value if isinstance(value, dict) else {"_json": value}


def check_query() -> None:
    """400 when a query parameter's name or value is not text (bitnexus.common.text)."""
    for key, value in request.args.items(multi=True):
        if not (text.is_text(key) and text.is_text(value)):
            raise BadRequest()


def _all_unicode(value: object) -> bool:
    """Whether every string in a parsed JSON value, object keys included, is Unicode."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not text.is_unicode(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def _not_json(literal: str) -> float:
    # Python's json accepts NaN and Infinity, which RFC 8259 (and Phoenix's Jason) do
    # not: a body using them is malformed, 400.
    raise ValueError(f"{literal} is not JSON")


def _finite(text: str) -> float:
    """A JSON number a double can hold; `1e999999` (infinite as a float) is malformed."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} overflows")
    return value


def params() -> dict[str, Any]:
    """The parsed body params (empty when the body was not JSON)."""
    return g.get("params", {})


def wrapped(resource: str) -> dict[str, Any]:
    """The object under the resource wrapper (`{"user": {...}}`), or 400."""
    value = params().get(resource)
    if not isinstance(value, dict):
        raise BadRequest()
    return value


def query(*, rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """Query params as a flat dict (first value wins); `after` is the services' `cursor`."""
    names = {"after": "cursor", **(rename or {})}
    return {names.get(k, k): v for k, v in request.args.items()}
