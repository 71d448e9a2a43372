"""`/health`, `/ready` and `/metrics`: unauthenticated, for load balancers and Prometheus."""

from __future__ import annotations

import functools
import time
from importlib import metadata

from flask import Blueprint, Response, current_app

from supervisors import walk
from web import metrics
from web.responses import json_response, produces
from web.runtime import runtime

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health() -> Response:
    # Within a deadline, so a hung connect can't hang /health (web/probe.py).
    connected = runtime().database_probe.answers(current_app.config["BITNEXUS_CALL_TIMEOUT"])
    body = {
        "status": "healthy" if connected else "unhealthy",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "database": "connected" if connected else "disconnected",
        "version": _version(),
    }
    return json_response(body, 200 if connected else 503)


@blueprint.get("/ready")
def ready() -> Response:
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
@produces("text/plain")
def prometheus() -> Response:
    sampler = runtime().sampler
    if sampler is not None:
        sampler.sample()  # this worker's tree is fresh; the others' within their period
    body = metrics.exposition(runtime().metrics_dir)
    return Response(body, content_type=metrics.CONTENT_TYPE)


@functools.cache
def _version() -> str:
    try:
        return metadata.version("bitnexus")
    except metadata.PackageNotFoundError:
        return "unknown"
