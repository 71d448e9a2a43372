"""One JSON line per request on the `bitnexus.access` logger, with the request id."""

from __future__ import annotations

import json
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
    line = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
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
    logger.info(json.dumps(line, separators=(",", ":")))


def route() -> str:
    """The matched URL rule, so that metrics and logs group `/users/1` and `/users/2`."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


class JsonLinesFormatter(logging.Formatter):
    """Passes JSON messages through; wraps anything else in a JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith("{"):
            return message
        return json.dumps({"level": record.levelname, "logger": record.name, "msg": message})


def configure(name: str = logger.name, level: int = logging.INFO) -> None:
    """Send the `name` logger's lines (access lines by default) to stderr as JSON lines
    (idempotent)."""
    target = logging.getLogger(name)
    if any(isinstance(h.formatter, JsonLinesFormatter) for h in target.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLinesFormatter())
    target.addHandler(handler)
    target.setLevel(level)
    target.propagate = False
