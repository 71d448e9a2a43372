"""The Phoenix error table, row by row, plus request ids and the 5xx mappings."""

from __future__ import annotations

import json

import pytest

from actors import accounts
from supervisors import crash, terminate_child, whereis

NOT_FOUND = {"errors": {"detail": "Not Found"}}
BAD_REQUEST = {"errors": {"detail": "Bad Request"}}


def test_validation_failure_is_422_with_field_lists(client, admin):
    response = client.post("/api/v1/users", json={"user": {"email": ""}}, headers=admin.headers)
    assert response.status_code == 422
    body = response.get_json()
    assert "data" not in body
    assert body["errors"]["email"] == ["can't be blank"]
    assert all(isinstance(v, list) and v for v in body["errors"].values())
    assert response.content_type == "application/json; charset=utf-8"


def test_a_purchase_price_without_its_currency_is_422(client, user):
    """The expected price pins a currency too; without one its places cannot be checked
    (this was a KeyError, answered 500)."""
    attrs = {"kind": "purchase", "product_id": 1, "price": "1.00"}
    response = client.post(
        "/api/v1/transactions", json={"transaction": attrs}, headers=user.headers
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"currency": ["can't be blank"]}


def test_record_not_found_is_404(client, admin):
    response = client.get("/api/v1/users/999999", headers=admin.headers)
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/nothing-here"), ("DELETE", "/api/v1/users"), ("PATCH", "/health")],
)
def test_unknown_route_or_wrong_method_is_404_never_405(client, user, method, path):
    response = client.open(path, method=method, headers=user.headers)
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


def test_options_is_an_unknown_route(client):
    assert client.options("/api/v1/users").status_code == 404


def test_malformed_json_is_400(client, admin):
    response = client.post(
        "/api/v1/users", data="{not json", content_type="application/json", headers=admin.headers
    )
    assert (response.status_code, response.get_json()) == (400, BAD_REQUEST)


@pytest.mark.parametrize("body", [{"name": "x"}, {"user": "x"}, {"user": [1]}, [1, 2]])
def test_missing_or_non_object_wrapper_is_400(client, admin, body):
    response = client.post("/api/v1/users", json=body, headers=admin.headers)
    assert (response.status_code, response.get_json()) == (400, BAD_REQUEST)


def test_a_body_that_is_not_json_is_415(client, admin):
    response = client.post("/api/v1/users", data="user=x", headers=admin.headers)
    assert response.status_code == 415


def test_a_form_encoded_body_is_415_before_authentication(client):
    response = client.post("/api/v1/auth/login", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 415
    assert response.get_json() == {"errors": {"detail": "Unsupported Media Type"}}
    anonymous = client.post("/api/v1/products", data={"product": "x"})
    assert anonymous.status_code == 415  # not 401: the body is refused first


def test_json_replies_end_with_a_newline(client, admin):
    for response in (
        client.get("/health"),
        client.get("/api/v1/users", headers=admin.headers),
        client.get("/api/v1/nope"),
        client.get("/api/openapi.json"),
    ):
        assert response.data.endswith(b"}\n"), response.data[-20:]


@pytest.mark.parametrize("path", ["/api/v1/users/abc", "/api/v1/users/1.5", "/api/v1/users/-1"])
def test_non_integer_id_is_400(client, admin, path):
    response = client.get(path, headers=admin.headers)
    assert (response.status_code, response.get_json()) == (400, BAD_REQUEST)


def test_non_integer_id_without_token_is_401_first(client):
    assert client.get("/api/v1/users/abc").status_code == 401


def test_unauthenticated_is_401(client):
    response = client.get("/api/v1/users")
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"detail": "Unauthorized"}}


def test_forbidden_is_403(client, user):
    response = client.get("/api/v1/users", headers=user.headers)
    assert (response.status_code, response.get_json()) == (403, {"errors": {"detail": "Forbidden"}})


def test_accept_excluding_json_is_406(client, user):
    headers = {**user.headers, "accept": "text/html"}
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 406
    assert response.get_json() == {"errors": {"detail": "Not Acceptable"}}
    any_type = {**user.headers, "accept": "*/*"}
    assert client.get("/api/v1/auth/me", headers=any_type).status_code == 200


@pytest.mark.parametrize(
    ("path", "accept", "status"),
    [
        ("/health", "*/*", 200),
        ("/health", "application/json", 200),
        ("/health", "application/*", 200),
        ("/health", "text/html, application/json;q=0.5", 200),
        ("/health", "*/*;q=0", 406),
        ("/health", "application/json;q=0", 406),
        ("/health", "", 406),
        ("/health", "text/plain", 406),
        ("/metrics", "text/plain", 200),
        ("/metrics", "application/json", 406),
        ("/api/v1/nothing-here", "text/html", 404),  # no route: nothing to negotiate
    ],
)
def test_accept_negotiation(client, path, accept, status):
    assert client.get(path, headers={"accept": accept}).status_code == status


def test_body_over_one_mib_is_413(client, user):
    big = json.dumps({"user": {"name": "x" * (1024 * 1024)}})
    response = client.post(
        "/api/v1/auth/register", data=big, content_type="application/json", headers=user.headers
    )
    assert response.status_code == 413
    assert response.get_json() == {"errors": {"detail": "Request Entity Too Large"}}


def test_no_process_is_503_with_retry_after(client, user, services):
    supervisor, child_id = services.supervisor_at("root/services/accounts")
    terminate_child(supervisor.actor_ref, child_id)  # its name is gone: noproc
    response = client.get("/api/v1/auth/me", headers=user.headers)
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert response.get_json() == {"errors": {"detail": "Service Unavailable"}}


def test_call_timeout_is_503(app, client, user, monkeypatch):
    app.config["BITNEXUS_CALL_TIMEOUT"] = 1e-9  # no actor answers within a nanosecond
    response = client.get("/api/v1/auth/me", headers=user.headers)
    assert response.status_code == 503
    assert "retry-after" in response.headers


def test_actor_crash_is_500_without_traceback(app, client, user, monkeypatch):
    # A crash while the call is queued: the actor fails through its real failure path.
    def crash_then_fail(name, message, timeout=5.0):
        ref = whereis(accounts.NAME)
        crash(ref)
        from supervisors import call as real_call

        return real_call(ref, message, timeout)

    monkeypatch.setattr("actors.client.call", crash_then_fail)
    response = client.get("/api/v1/auth/me", headers=user.headers)
    assert response.status_code == 500
    assert response.get_json() == {"errors": {"detail": "Internal Server Error"}}
    assert b"Traceback" not in response.data


def test_unexpected_exception_is_500_without_traceback(app, client, user, monkeypatch):
    def explode(name, message, timeout=5.0):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("actors.client.call", explode)
    response = client.get("/api/v1/auth/me", headers=user.headers)
    assert response.status_code == 500
    assert b"secret internals" not in response.data


def test_request_id_is_generated_and_honoured(client):
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) >= 16
    assert client.get("/health").headers["x-request-id"] != generated
    given = client.get("/api/v1/nope", headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"


def test_access_log_records_carry_request_id_route_and_status(client, caplog):
    with caplog.at_level("INFO", logger="bitnexus.access"):
        client.get("/health", headers={"x-request-id": "log-me-please"})
    records = [r for r in caplog.records if r.name == "bitnexus.access"]
    assert records[-1].request_id == "log-me-please"
    assert records[-1].status == 200
    assert records[-1].route == "/health"


def test_health_reports_the_database(client):
    """Healthy here; unhealthy with the database really gone: test_http_outage.py."""
    body = client.get("/health").get_json()
    assert (body["status"], body["database"]) == ("healthy", "connected")
    assert body["version"] and body["timestamp"].endswith("Z")
