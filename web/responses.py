"""JSON rendering, the Phoenix way: `application/json; charset=utf-8`, `{"data": ...}`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Response

from bitnexus.common.pagination import Page
from web import render

JSON_TYPE = "application/json; charset=utf-8"
RETRY_AFTER_SECONDS = "1"  # what a 503 asks the client to wait, shed or unavailable

View = TypeVar("View")
T = TypeVar("T")


def produces(mimetype: str) -> Callable[[View], View]:
    """Mark a view as producing `mimetype` (JSON is the default) for the Accept check."""

    def mark(view: View) -> View:
        view.produces = mimetype  # type: ignore[attr-defined]
        return view

    return mark


def json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, headers=dict(headers or {}), content_type=JSON_TYPE)


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
