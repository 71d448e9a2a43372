"""The `bitnexus` console script: `migrate`, `serve`, `console` and `admin create`."""

from __future__ import annotations

import argparse
import code
import getpass
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bitnexus.config import Config, ConfigError
from bitnexus.database import migrate
from bitnexus.database.engine import make_engine

if TYPE_CHECKING:  # bitnexus.server is imported late, after the metrics directory is set
    from bitnexus.server import ServeOptions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bitnexus", description="BitNexus backend")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (BITNEXUS_DATABASE_URL)")
    serve = commands.add_parser("serve", help="serve the HTTP API under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4000)
    serve.add_argument("--workers", type=int, default=1, help="processes, one tree each")
    serve.add_argument("--threads", type=int, default=16, help="request threads per worker")
    commands.add_parser(
        "console", help="a Python shell with the services running, like `iex -S mix`"
    )
    admin = commands.add_parser("admin", help="operator tasks")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create", help="create an admin, or promote a user")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="Administrator")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    args = parser.parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"bitnexus: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        return run_migrate(config)
    if args.command == "admin":
        return run_admin_create(config, args.email, args.name, args.password_stdin)
    if args.command == "console":
        return run_console(config)
    return run_serve(config, args)


def run_migrate(config: Config) -> int:
    """Apply every pending migration."""
    engine = make_engine(config)
    try:
        migrate.upgrade(engine)
        print(f"bitnexus: database at revision {migrate.current(engine)}")
    finally:
        engine.dispose()
    return 0


def run_serve(config: Config, args: argparse.Namespace) -> int:
    """Serve the API under gunicorn until SIGTERM (graceful) or SIGINT."""
    # prometheus_client picks its multiprocess mode from the environment at import time,
    # so the directory is set before anything imports it (web, via bitnexus.server).
    metrics_dir = tempfile.mkdtemp(prefix="bitnexus-metrics-")
    master = os.getpid()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from bitnexus import server

    config, generated = server.with_secrets(config, Path.cwd() / "var")
    options = server.ServeOptions(args.host, args.port, args.workers, args.threads, metrics_dir)
    _print_banner(options, config.admin_token or "", generated)
    try:
        return server.serve(config, options)
    finally:
        if os.getpid() == master:  # a worker's exit unwinds through here too
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _print_banner(options: ServeOptions, token: str, generated: bool) -> None:
    base = f"http://{options.host}:{options.port}"
    origin = "generated for this run" if generated else "from BITNEXUS_ADMIN_TOKEN"
    lines = [
        f"bitnexus: API       {base}/api/v1",
        f"bitnexus: health    {base}/health  {base}/ready  {base}/metrics",
        f"bitnexus: OpenAPI   {base}/api/openapi.json",
        f"bitnexus: operator  {base}/admin?token={token}",
        f"bitnexus: operator token ({origin}): {token}",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


CONSOLE_BANNER = """BitNexus console: the services run in this process ({database}).
accounts, products, transactions and ledger are imported; `app.tree` is the live tree.
  >>> user = accounts.create_user({{"email": "ada@example.com", "name": "Ada",
  ...                               "password": "correct horse battery"}})
"""


def run_console(config: Config) -> int:
    """A Python shell (IPython when installed) with the tree started on the database."""
    from actors import accounts, ledger, products, transactions
    from bitnexus.tree import running

    engine = make_engine(config)
    try:
        with running(config, engine) as app:
            namespace = {
                "accounts": accounts,
                "products": products,
                "transactions": transactions,
                "ledger": ledger,
                "app": app,
            }
            _interact(namespace, CONSOLE_BANNER.format(database=engine.url.render_as_string()))
    finally:
        engine.dispose()
    return 0


def _interact(namespace: dict[str, object], banner: str) -> None:
    try:
        import IPython
    except ImportError:
        code.interact(banner=banner, local=namespace, exitmsg="")
    else:
        print(banner)
        IPython.start_ipython(argv=["--no-banner"], user_ns=namespace)


def run_admin_create(config: Config, email: str, name: str, password_stdin: bool) -> int:
    """Create an admin (password from stdin or a prompt), or promote an existing user."""
    from bitnexus.accounts import create_or_promote
    from bitnexus.common.errors import ValidationFailed

    def password() -> str:
        if password_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise ValidationFailed({"password": ["does not match confirmation"]})
        return first

    engine = make_engine(config)
    try:
        user, created = create_or_promote(config, engine, email, name, password)
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            print(f"bitnexus: {field} {', '.join(messages)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    verb = "created" if created else "promoted"
    print(f"bitnexus: {verb} admin {user.email} (id {user.id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
