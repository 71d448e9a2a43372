"""Every line a real server writes to stderr is JSON with the fields an operator needs:
gunicorn's own lines, the banner, access lines with the request id, crashes with their
traceback, supervisor events; `console` format and the level come from the environment."""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
import threading
import time

import pytest
from live_server import start
from prometheus_client import REGISTRY
from pythonjsonlogger.json import JsonFormatter

from bitnexus import logs
from bitnexus.config import Config
from web import shedding
from web.shedding import ShedLateRequests

OPERATOR = {"authorization": "Bearer log-operator"}
REQUIRED = {"timestamp", "level", "logger", "message", "pid", "request_id"}


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template):
    target = tmp_path / "logs.db"
    target.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{target}"


def env(**extra: str) -> dict[str, str]:
    return {
        "BITNEXUS_ADMIN_TOKEN": "log-operator",
        "BITNEXUS_SECRET_KEY": "log-secret-0123456789-0123456789-0123456789",
        "BITNEXUS_ARGON2_MEMORY_COST": "64",
        "BITNEXUS_ACCOUNTS_POOL": "1",
        "BITNEXUS_PRODUCTS_POOL": "1",
        "BITNEXUS_TRANSACTIONS_POOL": "1",
        **extra,
    }


def test_every_stderr_line_is_json_with_the_operator_fields(sqlite_url, tmp_path):
    server = start(sqlite_url, tmp_path, env(BITNEXUS_LOG_LEVEL="debug"))
    try:
        assert (
            server.request("GET", "/health", headers={"x-request-id": "trace-me-1"}).status == 200
        )
        crashed = server.request(
            "POST", "/admin/supervision/root/services/ledger/crash", headers=OPERATOR
        )
        assert crashed.status in (200, 202, 204), crashed.body
        # The restart is in the tree's event log at once; its log line follows within a
        # metrics period (bitnexus.server.METRICS_PERIOD): poll the external process's log.
        deadline = time.monotonic() + 15
        while "child_restarted root/services/ledger" not in server.stderr():
            assert time.monotonic() < deadline, server.stderr()[-2000:]
            server.request("GET", "/ready")
    finally:
        assert server.stop() == 0
    records = [json.loads(line) for line in server.stderr().splitlines()]  # all JSON
    for record in records:
        assert record.keys() >= REQUIRED, record
    by_logger = {}
    for record in records:
        by_logger.setdefault(record["logger"], []).append(record)
    assert any("Listening at" in r["message"] for r in by_logger["gunicorn.error"])
    assert {r["banner"] for r in by_logger["bitnexus.banner"]} >= {"api", "token"}
    access = [r for r in by_logger["bitnexus.access"] if r["path"] == "/health"]
    assert access[0]["request_id"] == "trace-me-1"
    assert (access[0]["status"], access[0]["route"]) == (200, "/health")
    master = by_logger["bitnexus.banner"][0]["pid"]
    assert access[0]["pid"] != master  # the worker's pid
    crash = [r for r in by_logger["supervisors"] if "crashed" in r["message"]]
    assert crash and "Traceback (most recent call last)" in crash[0]["exception"]
    events = [r["message"] for r in by_logger["supervisors.events"]]
    assert any(m.startswith("child_restarted root/services/ledger") for m in events)


def test_console_format_and_level(sqlite_url, tmp_path):
    server = start(
        sqlite_url, tmp_path, env(BITNEXUS_LOG_FORMAT="console", BITNEXUS_LOG_LEVEL="warning")
    )
    try:
        server.request("GET", "/health")
    finally:
        assert server.stop() == 0
    lines = server.stderr().splitlines()
    assert not any(line.startswith("{") for line in lines)
    assert not any(" INFO " in line for line in lines)  # the level applies to everything


@pytest.fixture
def configure_logs(monkeypatch):
    """`logs.configure` in this process, undone afterwards (handlers, levels, hooks)."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr("sys.excepthook", sys.excepthook)
    monkeypatch.setattr("threading.excepthook", threading.excepthook)

    def configure(**environ: str) -> None:
        logs.configure(Config.from_env(environ))

    return configure


def test_console_lines_carry_the_request_id(configure_logs, capsys):
    configure_logs(BITNEXUS_LOG_FORMAT="console")
    token = logs.request_id.set("req-42")
    try:
        logging.getLogger("bitnexus.test").warning("hello")
    finally:
        logs.request_id.reset(token)
    line = capsys.readouterr().err.splitlines()[-1]
    assert "WARNING" in line and "bitnexus.test: hello (request req-42)" in line


def test_an_uncaught_thread_exception_is_one_json_record(configure_logs, capsys):
    configure_logs()
    worker = threading.Thread(target=lambda: 1 / 0, name="doomed")
    worker.start()
    worker.join()
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["message"] == "thread doomed crashed"
    assert "ZeroDivisionError" in record["exception"]


def shed_call(middleware, headers):
    seen = {}

    def start_response(status, response_headers):
        seen["status"], seen["headers"] = status, dict(response_headers)

    environ = {"PATH_INFO": "/api/v1/products", "REQUEST_METHOD": "GET", **headers}
    b"".join(middleware(environ, start_response))
    return seen["status"], seen["headers"]


def test_shed_requests_are_logged_counted_and_carry_a_request_id(configure_logs, capsys):
    configure_logs()
    before = REGISTRY.get_sample_value("bitnexus_http_shed_total") or 0.0
    middleware = ShedLateRequests(lambda environ, start_response: [], max_wait=0.25)
    shedding.waited(0.5)
    try:
        status, headers = shed_call(middleware, {"HTTP_X_REQUEST_ID": "client-id-7"})
        _, fresh = shed_call(middleware, {})
    finally:
        shedding.waited(0.0)
    assert status.startswith("503")
    assert headers["x-request-id"] == "client-id-7"
    assert len(fresh["x-request-id"]) >= 20  # a generated one
    assert REGISTRY.get_sample_value("bitnexus_http_shed_total") == before + 2
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [r["request_id"] for r in records] == ["client-id-7", fresh["x-request-id"]]
    assert records[0]["logger"] == "bitnexus.shedding"
    assert (records[0]["path"], records[0]["status"]) == ("/api/v1/products", 503)


def _records() -> list[logging.LogRecord]:
    """Records of every shape the server writes: plain, with extra fields (an access
    line's), with an exception, a stack, non-ASCII text and values JSON has no type for."""
    plain = logging.LogRecord("bitnexus.test", logging.INFO, __file__, 1, "%s ok", ("é",), None)
    access = logging.LogRecord("bitnexus.access", logging.INFO, __file__, 2, "GET / 200", (), None)
    access.__dict__.update(request_id="r-1", route="/", status=200, query=None, user_id=None)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        failed = logging.LogRecord(
            "bitnexus", logging.ERROR, __file__, 3, "boom", (), sys.exc_info(), sinfo="stack"
        )
    failed.__dict__.update(when=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC), raw=b"x")
    failed.request = " (request r-2)"  # the console format's field: never in JSON lines
    return [plain, access, failed]


def test_json_lines_are_python_json_loggers(configure_logs):
    """The JSON lines are written by python-json-logger's formatter (the issue asks for a
    library, not a hand-written formatter), with the fields an operator reads."""
    configure_logs()
    (handler,) = logging.getLogger().handlers
    assert type(handler.formatter) is JsonFormatter
    plain, access, failed = (json.loads(handler.format(r)) for r in _records())
    assert plain.keys() == {"level", "logger", "message", "pid", "timestamp"}
    assert (plain["level"], plain["logger"], plain["message"]) == ("INFO", "bitnexus.test", "é ok")
    assert plain["pid"] == os.getpid()
    created = datetime.datetime.fromisoformat(plain["timestamp"])
    assert created.utcoffset() == datetime.timedelta(0)
    assert (access["request_id"], access["route"], access["status"]) == ("r-1", "/", 200)
    assert "Traceback" in failed["exception"] and "ZeroDivisionError" in failed["exception"]
    assert failed["stack_info"] == "stack"
    assert (failed["when"], failed["raw"]) == ("2026-01-02T00:00:00+00:00", "eA==")  # base64
    assert "request" not in failed  # the console format's suffix
