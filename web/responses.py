"""JSON rendering, the Phoenix way: `application/json; charset=utf-8`, `{"data": ...}`."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Response, request

JSON_TYPE = "application/json; charset=utf-8"

View = TypeVar("View")


def produces(*mimetypes: str) -> Callable[[View], View]:
    """Mark a view as producing `mimetypes` (JSON is the default) for the Accept check."""

    def mark(view: View) -> View:
        view.produces = mimetypes  # type: ignore[attr-defined]
        return view

    return mark


def negotiate(offers: Sequence[str]) -> str | None:
    """The offer the request's `Accept` prefers, or None when it accepts none of them.

    Media type parameters (`version=1.0.0`, as Prometheus sends) are ignored; no
    `Accept` header accepts the first offer.
    """
    if "accept" not in request.headers:
        return offers[0] if offers else None
    for value, quality in request.accept_mimetypes:  # highest quality first
        wanted = value.split(";")[0].strip().lower()
        for offer in offers:
            if quality > 0 and (
                wanted in (offer, "*/*")
                or (wanted.endswith("/*") and offer.startswith(wanted[:-1]))
            ):
                return offer
    return None


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # Ecto encodes decimals as strings
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps(payload, default=_default, ensure_ascii=False, separators=(",", ":"))
    body += "\n"  # a JSON reply ends its last line, as curl and line-based tools expect
    return Response(body, status=status, headers=dict(headers or {}), content_type=JSON_TYPE)


def data(value: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"data": value}, status, headers)


def created(value: Mapping[str, Any], location: str) -> Response:
    return data(value, 201, {"location": location})


def no_content() -> Response:
    return Response(status=204)


def page(reply: Mapping[str, Any]) -> Response:
    """A service's page reply (`items`, `next_cursor`) as `{"data", "meta": {"next"}}`."""
    return json_response({"data": reply["items"], "meta": {"next": reply["next_cursor"]}})


def error(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """`{"errors": {"detail": <reason phrase>}}` with the status."""
    return json_response({"errors": {"detail": HTTPStatus(status).phrase}}, status, headers)


def validation_errors(errors: Mapping[str, list[str]]) -> Response:
    return json_response({"errors": dict(errors)}, 422)
