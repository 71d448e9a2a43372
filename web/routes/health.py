"""`/health`, `/ready` and `/metrics`: unauthenticated, for load balancers and Prometheus."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Response, current_app
from prometheus_client.openmetrics import exposition as openmetrics

from bitnexus import __version__
from supervisors import walk
from web import metrics
from web.responses import json_response, negotiate, produces
from web.runtime import runtime

T = TypeVar("T")
OPENMETRICS = "application/openmetrics-text"

blueprint = Blueprint("health", __name__)


MIGRATE_HINT = "run `bitnexus migrate`, then restart the server"


@blueprint.get("/health")
def health() -> Response:
    timeout = current_app.config["BITNEXUS_CALL_TIMEOUT"]
    # Within a deadline, so a hung connect can't hang /health (web/probe.py).
    connected = runtime().database_probe.answers(timeout)
    pending = _pending_migrations(timeout) if connected else []
    healthy = connected and not pending
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "database": "connected" if connected else "disconnected",
        "migrations": "pending" if pending else "up_to_date",
        "version": __version__,
    }
    return json_response(body, 200 if healthy else 503)


@blueprint.get("/ready")
def ready() -> Response:
    pending = _pending_migrations(current_app.config["BITNEXUS_CALL_TIMEOUT"])
    if pending:
        body = {
            "status": "not_ready",
            "reason": "migrations pending",
            "pending": pending,
            "hint": MIGRATE_HINT,
        }
        return json_response(body, 503)
    tree = runtime().tree
    if tree is None:
        return json_response({"status": "starting", "not_running": ["root"]}, 503)
    not_running = [
        {"path": node["path"], "status": node["status"]}
        for node in walk(tree.tree())
        if node["status"] != "running"
    ]
    status = 200 if tree.running and not not_running else 503
    body = {"status": "ready" if status == 200 else "not_ready", "not_running": not_running}
    return json_response(body, status)


@blueprint.get("/metrics")
@produces("text/plain", OPENMETRICS)
def prometheus() -> Response:
    runtime().sample()  # this worker's gauges are fresh; the others' within their period
    if negotiate(["text/plain", OPENMETRICS]) == OPENMETRICS:
        body = openmetrics.generate_latest(metrics.registry(runtime().metrics_dir))
        return Response(body, content_type=openmetrics.CONTENT_TYPE_LATEST)
    body = metrics.exposition(runtime().metrics_dir)
    return Response(body, content_type=metrics.CONTENT_TYPE)


_FAILED = object()


def _probe(check: Callable[[], T], timeout: float) -> T | object:
    """Run an injected probe with a deadline: a hung connect must not hang a probe.

    Its result, or `_FAILED` when it raised or did not answer in time.
    """
    outcome: list[object] = []

    def probe() -> None:
        try:
            outcome.append(check())
        except Exception:
            outcome.append(_FAILED)

    thread = threading.Thread(target=probe, name="health-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else _FAILED


def _pending_migrations(timeout: float) -> list[str]:
    """The migrations the database lacks; none known when it cannot be asked (an outage
    is /health's to report, and readiness stays with the tree). Once up to date, a
    process stays so: new migrations arrive with new code, so with a restart."""
    host = runtime()
    if host.migrations_up_to_date:
        return []
    pending = _probe(host.migrations_pending, timeout)
    if pending is _FAILED:
        return []
    host.migrations_up_to_date = not pending
    return list(pending)
