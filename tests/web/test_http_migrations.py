"""A database behind on migrations: /ready 503 saying so, /health not healthy, API calls
503, the log saying to run `bitnexus migrate`; migrated and restarted, the server is ready."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from live_server import BITNEXUS, start

from bitnexus.database import migrate
from bitnexus.database.engine import make_engine
from bitnexus.database.migrate import SCRIPT_LOCATION


@pytest.mark.parametrize("revision", [None, "0001"])
def test_an_out_of_date_database_is_not_ready_until_migrated(
    fresh_database_url, tmp_path, config_for, revision
):
    if revision is not None:
        engine = make_engine(config_for(fresh_database_url))
        migrate.upgrade(engine, revision)
        engine.dispose()
    env = {"BITNEXUS_ARGON2_MEMORY_COST": "64", "BITNEXUS_SECRET_KEY": "k" * 40}
    server = start(fresh_database_url, tmp_path, env, until="answering")
    try:
        ready = server.request("GET", "/ready")
        assert ready.status == 503
        assert ready.body["reason"] == "migrations pending"
        every = sorted(p.name[:4] for p in Path(SCRIPT_LOCATION, "versions").glob("[0-9]*.py"))
        assert ready.body["pending"] == (every[1:] if revision else every)
        assert "bitnexus migrate" in ready.body["hint"]
        health = server.request("GET", "/health")
        assert (health.status, health.body["status"]) == (503, "unhealthy")
        assert (health.body["database"], health.body["migrations"]) == ("connected", "pending")
        assert "run `bitnexus migrate`" in server.stderr()
        register = server.request("POST", "/api/v1/auth/register", {"user": {"email": "a@b.c"}})
        assert register.status == 503
    finally:
        assert server.stop() == 0
    done = subprocess.run(
        [*BITNEXUS, "migrate"],
        cwd=tmp_path,
        env={**os.environ, **env, "BITNEXUS_DATABASE_URL": fresh_database_url},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    server = start(fresh_database_url, tmp_path, env)  # returns once /ready is 200
    try:
        health = server.request("GET", "/health")
        assert (health.status, health.body["migrations"]) == (200, "up_to_date")
    finally:
        server.stop()
