"""Load shedding at the door: a request that waited too long for a request thread is
answered 503 with Retry-After at once, without reaching the app or any actor.

The host (bitnexus/server.py) measures each request's wait in its worker's queue, CoDel
style: the time a request sat in the queue, not the queue's length, is what says the
worker is behind. Answering the late ones immediately costs a few microseconds each, so
the queue drains, admitted requests keep a bounded latency and memory stays flat;
clients retry after Retry-After (with the same Idempotency-Key). Probes and operator
routes are never shed, so health checks and operators see the truth under overload.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Counter

from bitnexus import logs
from web import request_id
from web.responses import RETRY_AFTER_SECONDS
from web.security_headers import EVERY_RESPONSE

EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/admin")
_BODY = json.dumps({"errors": {"detail": "Service Unavailable"}}).encode() + b"\n"
_waits = threading.local()
logger = logging.getLogger("bitnexus.shedding")
SHED = Counter("bitnexus_http_shed_total", "Requests answered 503 at the door (load shedding)")


def waited(seconds: float) -> None:
    """Called by the host in the request thread, before the app: this request's wait."""
    _waits.seconds = seconds


def current_wait() -> float:
    return getattr(_waits, "seconds", 0.0)


class ShedLateRequests:
    """WSGI middleware: 503 for a request that waited longer than `max_wait` seconds."""

    def __init__(self, app: Callable[..., Iterable[bytes]], max_wait: float) -> None:
        self.app = app
        self.max_wait = max_wait
        self.shed = 0  # this process's count; approximate (no lock), for logs and tests

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if current_wait() <= self.max_wait or path.startswith(EXEMPT_PREFIXES):
            return self.app(environ, start_response)
        self.shed += 1
        SHED.inc()
        rid = request_id.choose(environ.get("HTTP_X_REQUEST_ID"))
        token = logs.request_id.set(rid)
        try:
            logger.warning(
                "shed %s %s: waited %.3f s for a request thread (limit %.3f s)",
                environ.get("REQUEST_METHOD", ""),
                path,
                current_wait(),
                self.max_wait,
                extra={"method": environ.get("REQUEST_METHOD"), "path": path, "status": 503},
            )
        finally:
            logs.request_id.reset(token)
        start_response(
            "503 Service Unavailable",
            [
                ("content-type", "application/json; charset=utf-8"),
                ("content-length", str(len(_BODY))),
                ("retry-after", RETRY_AFTER_SECONDS),
                (request_id.HEADER, rid),
                *EVERY_RESPONSE.items(),
            ],
        )
        return [_BODY]
