"""Cross-origin requests (flask-cors) for the origins in BITNEXUS_CORS_ORIGINS.

None by default: a browser on another origin gets no CORS headers and its preflights
are unknown routes, as before. With origins listed (the original frontend ran on :8000
against the API on :4000), preflights are answered and credentials are allowed for
those exact origins; `*` allows any origin, without credentials (browsers refuse both).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

ALLOWED_HEADERS = ["authorization", "content-type", "idempotency-key", "x-request-id"]
EXPOSED_HEADERS = ["x-request-id", "location", "idempotent-replayed", "retry-after"]
PREFLIGHT_MAX_AGE = 600  # seconds a browser may cache a preflight


def configure(app: Flask, origins: Sequence[str]) -> None:
    """Answer CORS for `origins`; nothing at all when there are none."""
    if not origins:
        return
    any_origin = "*" in origins
    CORS(
        app,
        origins="*" if any_origin else list(origins),
        supports_credentials=not any_origin,
        send_wildcard=any_origin,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        max_age=PREFLIGHT_MAX_AGE,
        vary_header=True,
    )
    app.before_request(_preflight)


def _preflight() -> Response | None:
    """204 for a preflight of a route that exists (flask-cors adds the headers).

    The app answers OPTIONS like an unknown route, as Phoenix does; a preflight is the
    browser asking about the method it names, so that method's route decides.
    """
    method = request.headers.get("access-control-request-method")
    if request.method != "OPTIONS" or not method or "origin" not in request.headers:
        return None
    adapter = current_app.create_url_adapter(request)
    try:
        adapter.match(request.path, method=method.upper())
    except HTTPException:
        return None  # no such route: the usual 404
    return Response(status=204)
