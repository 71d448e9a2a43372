"""One log line per request on the `bitnexus.access` logger (bitnexus.logs formats it)."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Request

logger = logging.getLogger("bitnexus.access")

_SECRET_PARAMS = frozenset({"token"})  # the admin page takes the operator token in its URL


def record(
    request: Request,
    route: str,
    status: int,
    seconds: float,
    request_id: str,
    user_id: int | None,
) -> None:
    """The line for one answered request; `route` is its matched URL rule."""
    query = "&".join(
        f"{k}={'[REDACTED]' if k in _SECRET_PARAMS else v}" for k, v in request.args.items()
    )
    fields = {
        "request_id": request_id,
        "method": request.method,
        "path": request.path,
        "query": query or None,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "remote": request.remote_addr,
        "user_id": user_id,
    }
    logger.info("%s %s %s", request.method, request.path, status, extra=fields)
