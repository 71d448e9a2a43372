"""The production server: the Flask app under gunicorn, one actor tree per worker.

Each worker process starts its own tree after the fork, so no actor thread, lock or
database connection crosses a fork. On SIGTERM a worker stops accepting, finishes its
in-flight requests, then stops its tree in reverse start order. If the tree's root
supervisor gives up, the worker drains the same way and exits non-zero, and gunicorn's
arbiter starts a fresh worker (with a fresh tree).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from gunicorn.app.base import BaseApplication
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker
from prometheus_client import multiprocess

from bitnexus import logs
from bitnexus.config import Config
from bitnexus.database import migrate
from bitnexus.database.engine import make_engine, pool_stats
from bitnexus.database.probe import DatabaseProbe
from bitnexus.tree import application_spec, render
from supervisors import start_tree
from web import Runtime, create_app, shedding
from web.realtime import supervision
from web.shedding import ShedLateRequests

logger = logging.getLogger("bitnexus.server")

GRACEFUL_TIMEOUT = 30  # seconds a stopping worker gives its in-flight requests
METRICS_PERIOD = 1.0  # seconds between copies of a worker's tree into shared metrics
GAVE_UP_EXIT = 1  # not 3 or 4: those make gunicorn's arbiter halt instead of respawning


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 4000
    workers: int = 1
    threads: int = 16
    metrics_dir: str | None = None


class Server(BaseApplication):
    """A gunicorn application whose workers each own an actor tree."""

    def __init__(self, config: Config, options: ServeOptions) -> None:
        self.config = config
        self.options = options
        self.runtime: Runtime | None = None  # set in each worker, after the fork
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": f"{self.options.host}:{self.options.port}",
            "workers": self.options.workers,
            "threads": self.options.threads,
            "worker_class": "bitnexus.server.TreeWorker",
            "graceful_timeout": GRACEFUL_TIMEOUT,
            "control_socket_disable": True,  # one shared socket path would clash
            "child_exit": _child_exit,
            "when_ready": _master_ready,
            "proc_name": "bitnexus",
            "logconfig_dict": logs.dict_config(self.config),
            "loglevel": self.config.log_level,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        assert self.runtime is not None, "the worker starts the tree before loading the app"
        # Under overload requests would queue for half a second and more: the late ones
        # are shed at the door (web/shedding.py).
        return ShedLateRequests(create_app(self.config, self.runtime), self.config.max_queue_wait)


class TreeWorker(ThreadWorker):
    """gunicorn's threaded worker, plus the lifetime of this process's actor tree."""

    def init_process(self) -> None:
        # Until gunicorn installs its handlers (after the tree is up), a stop signal would
        # hit the arbiter's handlers inherited over the fork and be lost: the worker would
        # serve on until killed, and its tree would never be stopped in order.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(signum, self._stop_before_serving)
        server: Server = self.app
        engine = make_engine(server.config)
        # On a database that lacks migrations the services cannot start: serve the probes
        # (/ready says what is missing), and every API call answers 503.
        tree = None if _unmigrated(engine) else start_tree(application_spec(server.config, engine))
        probe = DatabaseProbe(engine, server.config.call_timeout)
        server.runtime = Runtime(
            tree,
            probe,
            server.options.metrics_dir,
            migrations_pending=lambda: migrate.pending(engine),
            pool_stats=lambda: pool_stats(engine),
        )
        self._tree, self._gave_up, self._stopping = tree, False, False
        self._stopped = threading.Event()
        self._logged, self._logging = 0, threading.Lock()
        if tree is not None:
            print(render(tree.tree()), flush=True)
            threading.Thread(target=self._watch, name="tree-watch", daemon=True).start()
            threading.Thread(target=self._sample, name="tree-metrics", daemon=True).start()
        try:
            super().init_process()  # loads the app and serves until told to stop
        finally:
            self._stopping = True
            self._stopped.set()
            if tree is not None:
                tree.stop()  # after the last in-flight request: reverse start order
                self._log_events()  # the last decisions (a root giving up), before exiting
            probe.close()
            engine.dispose()
        if self._gave_up:
            logger.error("root supervisor gave up; worker exits for a fresh one")
            sys.exit(GAVE_UP_EXIT)

    def _stop_before_serving(self, _signum: int, _frame: object) -> None:
        self.alive = False  # the run loop then returns at once, and the tree is stopped

    def handle_exit(self, sig: Any, frame: Any) -> None:
        """SIGTERM: stop accepting, finish what is in flight (said in the log, so an
        operator sees the drain begin), then the tree stops."""
        super().handle_exit(sig, frame)
        self.log.info("Worker draining: finishing requests in flight (pid: %s)", self.pid)

    def enqueue_req(self, conn: Any) -> None:
        conn.bitnexus_queued_at = time.monotonic()  # handed to the thread pool's queue
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        queued = getattr(conn, "bitnexus_queued_at", None)
        shedding.waited(0.0 if queued is None else time.monotonic() - queued)
        return super().handle(conn)

    # A WebSocket upgrade detaches the connection for the socket hub (web/routes/
    # socket.py): it is not this worker's to read again, nor to close.

    def handle_request(self, req: Any, conn: Any) -> bool:
        keep_alive = super().handle_request(req, conn)
        return keep_alive and not _handed_over(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        if _handed_over(conn):
            self.nr_conns -= 1
            return
        super().finish_request(conn, fs)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Requests gunicorn refuses before the app get the Phoenix JSON error too.

        gunicorn answers, e.g., a request line over its limit with 414 and an HTML page,
        which no client of ours can parse.
        """
        status = _refused_status(exc)
        if status is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("", -1))[0], exc)
        phrase = HTTPStatus(status).phrase
        body = json.dumps({"errors": {"detail": phrase}}).encode() + b"\n"
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\n"
            f"Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        with contextlib.suppress(OSError):  # the client may be gone already
            client.sendall(head.encode() + body)

    def _watch(self) -> None:
        """When the root gives up, drain like on SIGTERM and exit non-zero."""
        self._tree.wait()
        if not self._stopping:
            self._gave_up = True
            self.handle_exit(None, None)

    def _sample(self) -> None:
        runtime = self.app.runtime
        feed = supervision.Publisher(self._tree)
        while not self._stopped.wait(METRICS_PERIOD):
            # One view of the tree for both: its dynamic supervisors' thousands of
            # sockets and channels are counted once a second, not twice.
            view = feed.view()
            runtime.sample(view)
            feed.publish(view)  # admin:supervision: this worker's tree and events
            self._log_events()

    def _log_events(self) -> None:
        """Supervisor decisions, in the log too (OTP's supervisor reports): they outlive
        this worker, whose tree and event log go when it exits."""
        with self._logging:
            for event in self._tree.events(self._logged):
                self._logged = event["seq"]
                logs.log_event(event)


_MALFORMED = (  # what gunicorn itself answers 400; the rest keeps gunicorn's own answer
    http_errors.InvalidRequestLine,
    http_errors.InvalidRequestMethod,
    http_errors.InvalidHTTPVersion,
    http_errors.InvalidHeader,
    http_errors.InvalidHeaderName,
    http_errors.ObsoleteFolding,
    http_errors.InvalidSchemeHeaders,
    http_errors.InvalidChunkSize,
    http_errors.ChunkMissingTerminator,
    http_errors.InvalidChunkExtension,
)


def _refused_status(exc: BaseException) -> int | None:
    """The status for a request gunicorn cannot parse or will not take; None otherwise."""
    if isinstance(exc, http_errors.LimitRequestLine):
        return 414
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return 431
    if isinstance(exc, _MALFORMED):
        return 400
    return None


def _handed_over(conn: Any) -> bool:
    return conn.sock.fileno() == -1


def _unmigrated(engine: sa.Engine) -> bool:
    """Whether the database lacks migrations; logged with what to do about it."""
    try:
        pending = migrate.pending(engine)
    except sa.exc.SQLAlchemyError:
        return False  # the database is down: /health says so, and the ledger starts degraded
    if pending:
        logger.error(
            "database lacks migrations %s: the services are not started and /ready answers "
            "503; run `bitnexus migrate`, then restart the server",
            ", ".join(pending),
        )
    return bool(pending)


def _master_ready(arbiter: Any) -> None:
    # The master only imported the metrics: its zero-valued live gauges are not a worker's.
    if arbiter.app.options.metrics_dir:
        multiprocess.mark_process_dead(os.getpid(), arbiter.app.options.metrics_dir)


def _child_exit(_arbiter: Any, worker: Any) -> None:
    # A dead worker's live gauges (inbox depth, running actors) must stop counting.
    if worker.app.options.metrics_dir:
        multiprocess.mark_process_dead(worker.pid, worker.app.options.metrics_dir)


def with_secrets(config: Config, var_dir: Path) -> tuple[Config, bool]:
    """Fill in development keys (kept in `var/secret_key` and `var/ledger_signing_key`)
    and an operator token.

    Returns the config and whether the operator token was generated (so it is printed).
    Done in the master, before the fork, so every worker signs and checks alike.
    """
    secret, token = config.secret_key, config.admin_token
    secret = secret or _kept(var_dir / "secret_key", lambda: secrets.token_urlsafe(48))
    signing = config.ledger_signing_key or _kept(
        var_dir / "ledger_signing_key", lambda: secrets.token_hex(32)
    )
    generated = not token
    if generated:
        token = secrets.token_urlsafe(24)
    replaced = dataclasses.replace(
        config, secret_key=secret, admin_token=token, ledger_signing_key=signing
    )
    return replaced, generated


def _kept(path: Path, make: Callable[[], str]) -> str:
    """A development secret kept in ``path`` (made once, readable by the owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(make())
    return path.read_text().strip()


def serve(config: Config, options: ServeOptions) -> int:
    """Run the arbiter until it is stopped; its exit status."""
    try:
        Server(config, options).run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0
