"""One log line per request on the `bitnexus.access` logger (bitnexus.logs formats it)."""

from __future__ import annotations

import logging
import time

from flask import Response, g, request

logger = logging.getLogger("bitnexus.access")

_SECRET_PARAMS = frozenset({"token"})  # the admin page takes the operator token in its URL


def start() -> None:
    g.started = time.perf_counter()


def elapsed() -> float:
    return time.perf_counter() - g.get("started", time.perf_counter())


def record(response: Response, request_id: str) -> None:
    query = "&".join(
        f"{k}={'[REDACTED]' if k in _SECRET_PARAMS else v}" for k, v in request.args.items()
    )
    fields = {
        "request_id": request_id,
        "method": request.method,
        "path": request.path,
        "query": query or None,
        "route": route(),
        "status": response.status_code,
        "duration_ms": round(elapsed() * 1000, 3),
        "remote": request.remote_addr,
        "user_id": getattr(g.get("caller"), "user_id", None),
    }
    logger.info("%s %s %s", request.method, request.path, response.status_code, extra=fields)


def route() -> str:
    """The matched URL rule, so that metrics and logs group `/users/1` and `/users/2`."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"
