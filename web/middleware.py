"""The work every request gets, around the Flask app: its id, the security headers, its
metrics and its access line.

One WSGI middleware (wrapping `app.wsgi_app`, as Flask's docs teach) reads the environ
and wraps `start_response`, instead of before/after/teardown callbacks that each look up
werkzeug's context locals: it costs a fraction of those, and it sees every answer the app
gives, error responses (404, 405, 413, a crash's 500) included. The app leaves what only
it knows in the environ: the request it parsed, with the matched route (`REQUEST`), and
the authenticated caller (web/auth.py's `CALLER`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import flask

from bitnexus import logs
from web import access_log, metrics, request_id, security_headers
from web.auth import CALLER

REQUEST = "bitnexus.request"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

logger = logging.getLogger("bitnexus.web")


def install(app: flask.Flask) -> None:
    """Wrap `app` in RequestHooks."""
    app.request_class = KeptRequest
    app.wsgi_app = RequestHooks(app.wsgi_app)  # type: ignore[method-assign]


class KeptRequest(flask.Request):
    """Flask's request, kept in the environ for RequestHooks (Flask clears werkzeug's own
    `werkzeug.request` when the request context ends)."""

    def __init__(self, environ: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(environ, *args, **kwargs)
        environ[REQUEST] = self


class RequestHooks:
    """WSGI middleware: `x-request-id`, security headers, metrics and the access line."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        rid = request_id.choose(environ.get("HTTP_X_REQUEST_ID"))
        token = logs.request_id.set(rid)  # lines logged while the request runs carry it
        answered: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append(status)
            headers.append((request_id.HEADER, rid))  # the app never sets it
            security_headers.apply(headers)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)  # werkzeug answers before returning the body
            status = int(answered[-1][:3])
            elapsed = time.perf_counter() - started
            request: KeptRequest = environ.pop(REQUEST)  # no cycle left between the two
            # The matched URL rule, so that metrics and logs group `/users/1` and `/users/2`.
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            try:
                metrics.observe_request(request.method, route, status, elapsed)
            except Exception:  # a metrics fault must never turn an answer into a 500
                logger.exception("could not record request metrics")
            caller = environ.get(CALLER)
            user_id = caller.user_id if caller is not None else None
            access_log.record(request, route, status, elapsed, rid, user_id)
            return body
        finally:
            logs.request_id.reset(token)
