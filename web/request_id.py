"""`x-request-id` on every response, honoured from the request when it looks sane; the
id is also the logging context's (bitnexus.logs.request_id) while the request runs."""

from __future__ import annotations

import re
import secrets

from flask import Response, g, request

from bitnexus import logs

HEADER = "x-request-id"
# Plug.RequestId accepts 20 to 200 characters; we also accept shorter printable ids.
_VALID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,200}")


def choose(given: str | None) -> str:
    """The client's id when it looks sane, else a fresh one."""
    return given if given and _VALID.fullmatch(given) else secrets.token_urlsafe(15)


def assign() -> None:
    g.request_id = choose(request.headers.get(HEADER))
    g.request_id_token = logs.request_id.set(g.request_id)


def current() -> str:
    return g.get("request_id", "")


def attach(response: Response) -> Response:
    response.headers[HEADER] = current()
    return response


def release(_exc: BaseException | None = None) -> None:
    """After the request: later lines of this thread carry no request id."""
    token = g.pop("request_id_token", None)
    if token is not None:
        logs.request_id.reset(token)
