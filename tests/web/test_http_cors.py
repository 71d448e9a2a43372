"""CORS: none by default; for the origins in BITNEXUS_CORS_ORIGINS, preflights answered
and credentials allowed; `*` allows any origin without credentials."""

from __future__ import annotations

import dataclasses

import pytest

from bitnexus.config import Config, ConfigError
from web import Runtime, create_app

FRONTEND = "http://localhost:8000"


def client_for(origins: str):
    config = Config.from_env({"BITNEXUS_CORS_ORIGINS": origins} if origins else {})
    config = dataclasses.replace(config, secret_key="cors-secret-" * 4)
    return create_app(config, Runtime()).test_client()


def preflight(client, path="/api/v1/products", method="POST", origin=FRONTEND):
    headers = {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization, content-type, idempotency-key",
    }
    return client.open(path, method="OPTIONS", headers=headers)


def test_no_cors_by_default():
    client = client_for("")
    assert (
        "access-control-allow-origin"
        not in client.get("/health", headers={"origin": FRONTEND}).headers
    )
    assert preflight(client).status_code == 404  # OPTIONS stays an unknown route


def test_a_listed_origin_gets_preflights_and_credentials():
    client = client_for(f"{FRONTEND}, https://shop.example")
    answer = preflight(client, "/api/v1/products/7", "PATCH")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == FRONTEND
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))
    simple = client.get("/health", headers={"origin": FRONTEND})
    assert simple.headers["access-control-allow-origin"] == FRONTEND
    assert "x-request-id" in simple.headers["access-control-expose-headers"]
    assert "Origin" in simple.headers["vary"]


def test_other_origins_and_unknown_routes_get_nothing():
    client = client_for(FRONTEND)
    stranger = preflight(client, origin="http://evil.example")
    assert "access-control-allow-origin" not in stranger.headers
    assert preflight(client, "/api/v1/nothing").status_code == 404
    assert preflight(client, "/api/v1/products", "TRACE").status_code == 404


def test_any_origin_never_with_credentials():
    answer = preflight(client_for("*"), origin="http://anything.example")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize("origins", ["localhost:8000", "http://a.example/path", "ftp://x"])
def test_a_bad_origin_names_the_variable(origins):
    with pytest.raises(ConfigError, match="BITNEXUS_CORS_ORIGINS"):
        Config.from_env({"BITNEXUS_CORS_ORIGINS": origins})
