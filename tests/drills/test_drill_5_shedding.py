"""The shedding middleware on its own: late requests get a JSON 503 with Retry-After at
once, without reaching the app; probes and operator routes are never shed."""

from __future__ import annotations

import json

from web import shedding
from web.shedding import ShedLateRequests


def app(environ, start_response):
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"served"]


def call(middleware, path: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, object] = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(middleware({"PATH_INFO": path}, start_response))
    return seen["status"], seen["headers"], body


def test_late_requests_are_shed_and_probes_are_not():
    middleware = ShedLateRequests(app, max_wait=0.25)
    shedding.waited(0.1)
    assert call(middleware, "/api/v1/transactions")[0] == "200 OK"
    shedding.waited(0.3)
    status, headers, body = call(middleware, "/api/v1/transactions")
    assert status == "503 Service Unavailable"
    assert headers["retry-after"] == "1"
    assert json.loads(body) == {"errors": {"detail": "Service Unavailable"}}
    assert int(headers["content-length"]) == len(body)
    assert headers["X-Content-Type-Options"] == "nosniff"  # security headers on every answer
    assert headers["Referrer-Policy"] == "no-referrer"
    for path in ("/health", "/ready", "/metrics", "/admin/supervision"):
        assert call(middleware, path)[0] == "200 OK"
    assert middleware.shed == 1
    shedding.waited(0.0)
