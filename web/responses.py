"""JSON rendering, the Phoenix way: `application/json; charset=utf-8`, `{"data": ...}`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Response, request

from bitnexus.common.pagination import Page
from web import render

JSON_TYPE = "application/json; charset=utf-8"
RETRY_AFTER_SECONDS = "1"  # what a 503 asks the client to wait, shed or unavailable
# One encoder for every response (json.dumps with options builds one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

View = TypeVar("View")
T = TypeVar("T")


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


def json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    body = _ENCODER.encode(payload) + "\n"  # a last line ends, as curl and line tools expect
    return Response(body, status=status, headers=headers, content_type=JSON_TYPE)


def data(value: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"data": value}, status, headers)


def created(value: Mapping[str, Any], location: str) -> Response:
    return data(value, 201, {"location": location})


def no_content() -> Response:
    return Response(status=204)


def page(value: Page[T], item: Callable[[T], dict[str, Any]]) -> Response:
    """A service's page as `{"data": [...], "meta": {"next": cursor}}`, each item rendered
    by `item`."""
    return json_response(render.page(value, item))


def error(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """`{"errors": {"detail": <reason phrase>}}` with the status."""
    return json_response({"errors": {"detail": HTTPStatus(status).phrase}}, status, headers)


def validation_errors(errors: Mapping[str, list[str]]) -> Response:
    return json_response({"errors": dict(errors)}, 422)
