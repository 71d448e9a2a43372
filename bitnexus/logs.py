"""Logging for every process: one JSON object per line (or readable text for `make run`).

Each record carries timestamp, level, logger, message, the worker's pid, the request id
when there is one, and an exception's traceback as the `exception` field. The same
dictConfig serves the CLI and gunicorn (its `logconfig_dict`), so gunicorn's own lines,
the start-up banner, crashes, supervisor events and access lines share one format.
"""

from __future__ import annotations

import logging
import logging.config
import sys
import threading
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

from bitnexus.config import Config

request_id: ContextVar[str | None] = ContextVar("bitnexus_request_id", default=None)

# python-json-logger's formatter writes the JSON lines: these four fields under the names an
# operator reads, then the record's extra fields (an access line's route, status…), then
# `timestamp`. `request` is the console format's suffix, never a JSON field.
JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "{levelname}{name}{message}{process}",
    "style": "{",
    "rename_fields": {
        "levelname": "level",
        "name": "logger",
        "process": "pid",
        "exc_info": "exception",
    },
    "timestamp": True,  # ISO 8601 in UTC, from the record's creation time
    "reserved_attrs": [*RESERVED_ATTRS, "request"],
}
CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s%(request)s"


class RequestContext(logging.Filter):
    """Adds the current request's id (None outside a request) to every record that does
    not carry one."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = getattr(record, "request_id", None) or request_id.get()
        record.request_id = current
        record.request = f" (request {current})" if current else ""
        return True


def dict_config(config: Config) -> dict[str, Any]:
    """The logging configuration for `config.log_level` and `config.log_format`."""
    formatters: dict[str, Any] = {"json": JSON_FORMATTER, "console": {"format": CONSOLE_FORMAT}}
    level = config.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestContext}},
        "formatters": {config.log_format: formatters[config.log_format]},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": config.log_format,
                "filters": ["request"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # Entries with no handlers drop those gunicorn adds, so its lines reach root.
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            # bitnexus.access writes the access lines (with the request id and route).
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            # Alembic's INFO lines repeat on every readiness probe's revision check.
            "alembic": {"level": "WARNING", "handlers": [], "propagate": True},
            # Pykka logs every exception an actor answers with (a refused transfer's
            # ValidationFailed) at INFO, with its traceback: expected replies, not news.
            "pykka": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure(config: Config) -> None:
    """Apply `dict_config` and route uncaught exceptions (any thread) through it."""
    logging.config.dictConfig(dict_config(config))
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_crash


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
    logging.getLogger("bitnexus").critical("uncaught exception", exc_info=(kind, exc, tb))


def _log_thread_crash(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "?"
    logging.getLogger("bitnexus").error(
        "thread %s crashed",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
    )


_ROUTINE_EVENTS = frozenset({"child_started"})  # one per child at every start


def log_event(event: Mapping[str, Any]) -> None:
    """One supervisor decision (supervisors' event log) as a log line."""
    kind = event["kind"]
    level = logging.DEBUG if kind in _ROUTINE_EVENTS else logging.WARNING
    fields = {f"event_{key}": value for key, value in event.items() if _plain(value)}
    where = "/".join(part for part in (event["supervisor"], event["child"]) if part)
    reason = f": {event['reason']}" if event.get("reason") else ""
    logging.getLogger("supervisors.events").log(level, "%s %s%s", kind, where, reason, extra=fields)


def _plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
