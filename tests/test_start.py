"""`bitnexus.start`: the services in this process for a `with` block, on either backend."""

from __future__ import annotations

import subprocess
import sys

import pytest

import bitnexus
from actors import accounts, client
from supervisors import NoProcess, whereis

CHEAP = {"argon2_time_cost": 1, "argon2_memory_cost": 64, "argon2_parallelism": 1}
SERVICES = [
    "tasks",
    "products",
    "accounts",
    "ledger",
    "ledger_readers",
    "transactions",
]  # start order


def test_start_migrates_runs_the_services_and_stops_them_in_reverse_order(fresh_database_url):
    with bitnexus.start(fresh_database_url, migrate=True, call_timeout=3.0, **CHEAP) as app:
        assert app.config.database_url == fresh_database_url
        assert app.config.call_timeout == 3.0 and app.tree.running
        assert client.default_timeout() == 3.0  # what the client functions wait by default
        user = accounts.create_user({"email": "a@b.co", "name": "A", "password": "p" * 12})
        assert accounts.get_user(user.id) == user
        stopping = app.tree.log.last_seq
    assert not app.tree.running
    assert whereis("accounts") is None
    with pytest.raises(NoProcess):
        accounts.get_user(user.id, timeout=0.5)
    stopped = [
        e.child
        for e in app.tree.log.since(stopping)
        if e.kind == "child_terminated" and e.supervisor == "root/services"
    ]
    assert stopped == SERVICES[::-1]


def test_start_keeps_the_data_for_the_next_start(fresh_database_url):
    with bitnexus.start(fresh_database_url, migrate=True, **CHEAP):
        user = accounts.create_user({"email": "a@b.co", "name": "A", "password": "p" * 12})
    with bitnexus.start(fresh_database_url, **CHEAP):  # already migrated
        assert accounts.get_user(user.id) == user


def test_start_without_a_url_runs_on_the_configured_database(fresh_database_url, monkeypatch):
    monkeypatch.setenv("BITNEXUS_DATABASE_URL", fresh_database_url)
    with bitnexus.start(migrate=True, **CHEAP) as app:
        assert app.config.database_url == fresh_database_url
        user = accounts.create_user({"email": "a@b.co", "name": "A", "password": "p" * 12})
    with bitnexus.start(fresh_database_url, **CHEAP):
        assert accounts.get_user(user.id) == user


def test_importing_bitnexus_loads_neither_the_actors_nor_the_database_layer():
    probe = "import sys, bitnexus; print(sorted(m for m in sys.modules if m.startswith(("
    probe += "'actors', 'web', 'supervisors', 'sqlalchemy'))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
