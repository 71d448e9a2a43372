"""Every answer, errors included, carries its request id and the security headers, and is
counted in the metrics and written as an access line under its route (web/middleware.py)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from werkzeug.test import EnvironBuilder

from bitnexus import logs
from supervisors import CallTimeout
from web import middleware

ME = "/api/v1/auth/me"


def explode(*_args, **_kwargs):
    raise RuntimeError("secret internals")


def time_out(*_args, **_kwargs):
    raise CallTimeout()


def requests_counted(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("bitnexus_http_requests_total", labels) or 0.0


def latencies_counted(method: str, route: str) -> float:
    labels = {"method": method, "route": route}
    return REGISTRY.get_sample_value("bitnexus_http_request_duration_seconds_count", labels) or 0.0


TOO_LARGE = {"data": b"x" * (1024 * 1024 + 1), "content_type": "application/json"}
LOGIN = "/api/v1/auth/login"
HTML = {"headers": {"accept": "text/html"}}
# method, path, request arguments, patches, status, route, as the user
ANSWERS = {
    "ok": ("GET", "/health", {}, {}, 200, "/health", False),
    "authenticated": ("GET", ME, {}, {}, 200, ME, True),
    "unknown route": ("GET", "/api/v1/nothing-here", {}, {}, 404, "unmatched", False),
    "wrong method (405)": ("PATCH", "/health", {}, {}, 404, "unmatched", False),
    "not acceptable": ("GET", "/health", HTML, {}, 406, "/health", False),
    "body too large": ("POST", LOGIN, TOO_LARGE, {}, 413, LOGIN, False),
    "unauthenticated": ("GET", ME, {}, {}, 401, ME, False),
    "crash after auth": ("GET", ME, {}, {"web.render.user": explode}, 500, ME, True),
    "service unavailable": ("GET", ME, {}, {"actors.client.call": time_out}, 503, ME, True),
}


@pytest.mark.parametrize(
    ("method", "path", "arguments", "patches", "status", "route", "as_user"),
    [pytest.param(*answer, id=name) for name, answer in ANSWERS.items()],
)
def test_every_answer_has_its_id_headers_metrics_and_access_line(
    client, user, caplog, monkeypatch, method, path, arguments, patches, status, route, as_user
):
    arguments = dict(arguments)
    headers = {"x-request-id": f"hooks-{status}", **arguments.pop("headers", {})}
    if as_user:
        headers |= user.headers
    for target, replacement in patches.items():
        monkeypatch.setattr(target, replacement)
    counted, timed = requests_counted(method, route, status), latencies_counted(method, route)
    with caplog.at_level("INFO", logger="bitnexus.access"):
        response = client.open(path, method=method, headers=headers, **arguments)
    assert response.status_code == status, response.get_json()
    assert response.headers["x-request-id"] == f"hooks-{status}"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert b"secret internals" not in response.data
    assert requests_counted(method, route, status) == counted + 1
    assert latencies_counted(method, route) == timed + 1
    (line,) = [r for r in caplog.records if r.name == "bitnexus.access"]
    assert (line.request_id, line.method, line.path) == (f"hooks-{status}", method, path)
    assert (line.status, line.route) == (status, route)
    assert line.user_id == (user.id if as_user and status not in (401, 503) else None)
    assert line.duration_ms > 0


def test_invented_methods_share_one_label(client):
    before = requests_counted("OTHER", "unmatched", 404)
    for method in ("BREW", "PROPFIND", "X-INVENTED"):
        assert client.open("/health", method=method).status_code == 404
        assert requests_counted(method, "unmatched", 404) == 0
    assert requests_counted("OTHER", "unmatched", 404) == before + 3


def test_the_request_id_is_the_logging_context_while_the_request_runs(client, user, monkeypatch):
    """Lines logged inside the request carry the id the response gets; none after it."""
    seen = []

    def render_and_crash(*_args, **_kwargs):
        seen.append(logs.request_id.get())
        raise RuntimeError("secret internals")

    monkeypatch.setattr("web.render.user", render_and_crash)
    response = client.get(ME, headers=user.headers)
    assert response.status_code == 500
    rid = response.headers["x-request-id"]
    assert len(rid) >= 20  # a generated one
    assert seen == [rid]
    assert logs.request_id.get() is None


def test_the_access_line_redacts_the_token_parameter(client, caplog):
    with caplog.at_level("INFO", logger="bitnexus.access"):
        client.get("/health?token=operator-secret&x=1")
    (line,) = [r for r in caplog.records if r.name == "bitnexus.access"]
    assert line.query == "token=[REDACTED]&x=1"


def test_a_metrics_fault_never_turns_an_answer_into_a_500(client, monkeypatch, caplog):
    seen = []

    def fail(*_args):
        seen.append(logs.request_id.get())  # its log line carries the request's id
        raise RuntimeError("metrics down")

    monkeypatch.setattr("web.metrics.observe_request", fail)
    with caplog.at_level("INFO"):
        response = client.get("/health")
    assert response.status_code == 200
    assert seen == [response.headers["x-request-id"]]
    assert any(r.message == "could not record request metrics" for r in caplog.records)
    assert [r.status for r in caplog.records if r.name == "bitnexus.access"] == [200]


def test_the_request_is_not_kept_in_the_environ_after_the_answer(app):
    """The middleware drops the request it read, so no cycle outlives the request."""
    statuses = []
    environ = EnvironBuilder(path="/health").get_environ()
    b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses == ["200 OK"]
    assert middleware.REQUEST not in environ
