"""`x-request-id` on every response, honoured from the request when it looks sane."""

from __future__ import annotations

import re
import secrets

from flask import Response, g, request

HEADER = "x-request-id"
# Plug.RequestId accepts 20 to 200 characters; we also accept shorter printable ids.
_VALID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,200}")


def assign() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if _VALID.fullmatch(given) else secrets.token_urlsafe(15)


def current() -> str:
    return g.get("request_id", "")


def attach(response: Response) -> Response:
    response.headers[HEADER] = current()
    return response
