"""Prometheus metrics: HTTP traffic, and the live tree sampled into gauges and counters.

The ledger records its own (bitnexus.ledger.metrics: transactions, block sizes, commit
time) in the same registry or multiprocess directory; `/metrics` exposes them with ours.

Metrics are module-level (one registry per process). Under gunicorn every worker writes
to prometheus_client's multiprocess directory and `/metrics` merges them, so a scrape
that lands on any worker sees all of them.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from supervisors import Tree
from web.realtime.socket import CHANNELS, SOCKETS

REQUESTS = Counter(
    "bitnexus_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "bitnexus_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
INBOX = Gauge(
    "bitnexus_actor_inbox_depth",
    "Messages waiting in actor inboxes, by registered name (pools summed)",
    ["name"],
    multiprocess_mode="livesum",
)
RUNNING = Gauge(
    "bitnexus_actor_running",
    "Actors running, by registered name",
    ["name"],
    multiprocess_mode="livesum",
)
RESTARTS = Counter(
    "bitnexus_actor_restarts_total", "Restarts by supervisor decision, by child path", ["path"]
)
EVENTS = Counter("bitnexus_supervisor_events_total", "Supervisor events by kind", ["kind"])
# The real-time layer's connections: its dynamic supervisors' running children, summed
# over workers.
REALTIME = {
    SOCKETS: Gauge(
        "bitnexus_sockets",
        "Sockets connected (WebSocket and long-poll)",
        multiprocess_mode="livesum",
    ),
    CHANNELS: Gauge(
        "bitnexus_channels", "Channels joined on the sockets", multiprocess_mode="livesum"
    ),
}

CONTENT_TYPE = CONTENT_TYPE_LATEST


# Each label combination's children, looked up once: `.labels()` takes a lock and
# builds its key on every call, which every request would pay.
_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


# Any token is a method to HTTP: a client inventing methods must not invent label sets.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"
    key = (method, route, status)
    children = _children.get(key)
    if children is None:  # two threads may both look it up: labels() gives them one child
        children = REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)
        _children[key] = children
    count, latency = children
    count.inc()
    latency.observe(seconds)


class TreeSampler:
    """Copies one process's tree into the gauges and its new events into the counters."""

    def __init__(self, tree: Tree) -> None:
        self._tree = tree
        self._last_seq = 0
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def sample(self, view: Mapping[str, Any] | None = None) -> None:
        """From ``view``, a `Tree.tree` view with a ``dynamic_limit`` the caller took this
        moment (the server's sampling loop shares one with the admin feed), else a new one."""
        with self._lock:
            depth: dict[str, int] = defaultdict(int)
            running: dict[str, int] = defaultdict(int)
            connected = dict.fromkeys(REALTIME, 0)
            for node in _counted(view or self._tree.tree(dynamic_limit=0)):
                if node["kind"] == "supervisor" and node["name"] in connected:
                    connected[node["name"]] = node.get("children_running", 0)
                if "children_total" in node:
                    depth[node["path"]] += node["children_inbox"]
                    running[node["path"]] += node["children_running"]
                elif node["kind"] == "worker":
                    label = node["name"] or node["path"]
                    depth[label] += int(node["inbox"] or 0)
                    running[label] += node["status"] == "running"
            for name in self._names - depth.keys():  # a child that was removed
                depth[name] = running[name] = 0
            for name in depth:
                INBOX.labels(name).set(depth[name])
                RUNNING.labels(name).set(running[name])
            self._names = set(depth)
            for name, count in connected.items():
                REALTIME[name].set(count)
            for event in self._tree.events(self._last_seq):
                self._last_seq = event["seq"]
                EVENTS.labels(event["kind"]).inc()
                if event["kind"] == "child_restarted":
                    RESTARTS.labels(f"{event['supervisor']}/{event['child']}").inc()


def _counted(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The view's nodes, parents first, but not a dynamic supervisor's children (sockets,
    channels: thousands, coming and going): they count under its path, so the labels
    stay few."""
    yield node
    if "children_total" not in node:
        for child in node.get("children", ()):
            yield from _counted(child)


def registry(metrics_dir: str | None) -> CollectorRegistry:
    """This process's registry, or one merging every worker's under gunicorn."""
    if metrics_dir is None:
        return REGISTRY
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=metrics_dir)
    return merged


def exposition(metrics_dir: str | None) -> bytes:
    """The text exposition of `registry(metrics_dir)`."""
    return generate_latest(registry(metrics_dir))
