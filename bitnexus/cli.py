"""The `bitnexus` console script: `migrate`, `db`, `serve`, `console` and `admin create`.

A mistake at the command line is one line on stderr and a non-zero exit, never a
traceback: bad arguments and settings exit 2, a database or file problem exits 1.
"""

from __future__ import annotations

import argparse
import code
import errno
import getpass
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import sqlalchemy as sa

from bitnexus import __version__, logs
from bitnexus.config import Config, ConfigError, load_dotenv, port_number
from bitnexus.database import migrate, setup
from bitnexus.database.engine import make_engine
from bitnexus.diagnosis import explain

if TYPE_CHECKING:  # bitnexus.server is imported late, after the metrics directory is set
    from bitnexus.server import ServeOptions


banner = logging.getLogger("bitnexus.banner")


class Refused(Exception):
    """A command that cannot go on; its message is the one line the user sees."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load_dotenv()
    with _shared_metrics(args.run is run_serve):
        try:
            config = Config.from_env()
        except ConfigError as exc:
            print(f"bitnexus: configuration error: {exc}", file=sys.stderr)
            return 2
        logs.configure(config)
        try:
            return args.run(config, args)
        except Refused as exc:
            print(f"bitnexus: {exc}", file=sys.stderr)
            return 1
        except Exception as exc:
            message = explain(exc, config.database_url)
            if message is None:
                raise
            print(f"bitnexus: {message}", file=sys.stderr)
            return 1


@contextmanager
def _shared_metrics(workers_share: bool) -> Iterator[None]:
    """prometheus_client's multiprocess directory, for `serve`'s workers to share.

    prometheus_client picks its mode when it is first imported, and loading the
    configuration already imports the ledger (whose metrics import it): the directory is
    set before anything else. The master removes it on the way out.
    """
    if not workers_share:
        yield
        return
    directory = tempfile.mkdtemp(prefix="bitnexus-metrics-")
    master = os.getpid()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    try:
        yield
    finally:
        if os.getpid() == master:  # a worker's exit unwinds through here too
            shutil.rmtree(directory, ignore_errors=True)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (its subcommands' parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bitnexus", description="BitNexus backend")
    parser.add_argument("--version", action="version", version=f"bitnexus {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "migrate", help="apply database migrations (BITNEXUS_DATABASE_URL or DATABASE_URL)"
    ).set_defaults(run=run_migrate)
    db = commands.add_parser("db", help="create, set up or reset the database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser(
        "create", help="create the PostgreSQL database, or the SQLite file's folder"
    ).set_defaults(run=run_db_create)
    db_setup = db_commands.add_parser("setup", help="create, migrate, and optionally seed")
    db_setup.add_argument("--seed", action="store_true", help="add demo data")
    db_setup.set_defaults(run=run_db_setup)
    reset = db_commands.add_parser("reset", help="drop, then set up again (needs --yes)")
    reset.add_argument("--yes", action="store_true", help="confirm: every row is deleted")
    reset.add_argument("--seed", action="store_true", help="add demo data")
    reset.set_defaults(run=run_db_reset)
    serve = commands.add_parser("serve", help="serve the HTTP API under gunicorn")
    serve.add_argument("--host", help="address to bind (default HOST, or 127.0.0.1)")
    serve.add_argument("--port", type=_checked(port_number), help="default PORT, or 4000")
    serve.add_argument(
        "--workers", type=_checked(_at_least_one), default=1, help="processes, one tree each"
    )
    serve.add_argument(
        "--threads", type=_checked(_at_least_one), default=16, help="request threads per worker"
    )
    serve.set_defaults(run=run_serve)
    commands.add_parser(
        "console", help="a Python shell with the services running, like `iex -S mix`"
    ).set_defaults(run=run_console)
    admin = commands.add_parser("admin", help="operator tasks")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create", help="create an admin, or promote a user")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="Administrator")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(run=run_admin_create)
    ledger = commands.add_parser("ledger", help="ledger integrity")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_commands.add_parser(
        "clear-degraded",
        help="verify the whole chain and, if it is valid, let every process write again",
    ).set_defaults(run=run_clear_degraded)
    verify = ledger_commands.add_parser(
        "verify", help="verify the whole chain offline, and the signed checkpoints"
    )
    verify.add_argument(
        "--from-checkpoint",
        metavar="FILE",
        help="checkpoints an auditor kept (the data of GET /api/v1/ledger/checkpoints)",
    )
    verify.set_defaults(run=run_ledger_verify)
    return parser


def _at_least_one(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _checked(parse: Callable[[str], int]) -> Callable[[str], int]:
    """An argparse type whose error message says what is wrong with the value."""

    def parse_argument(raw: str) -> int:
        try:
            return parse(raw)
        except ValueError as exc:
            reason = str(exc) if "literal" not in str(exc) else "must be an integer"
            raise argparse.ArgumentTypeError(f"{raw!r} {reason}") from None

    return parse_argument


def run_migrate(config: Config, _args: argparse.Namespace | None = None) -> int:
    """Apply every pending migration, printing each."""
    engine = make_engine(config)
    try:
        migrate.upgrade(
            engine, on_applied=lambda rev, title: print(f"bitnexus: applied {rev}  {title}")
        )
        print(f"bitnexus: database at revision {migrate.current(engine)}")
    finally:
        engine.dispose()
    return 0


def run_db_create(config: Config, _args: argparse.Namespace | None = None) -> int:
    created = setup.create(config.database_url)
    print(f"bitnexus: database {_name(config)} {'created' if created else 'already exists'}")
    return 0


def run_db_setup(config: Config, args: argparse.Namespace) -> int:
    run_db_create(config)
    run_migrate(config)
    if args.seed:
        for line in _seed_demo(config):
            print(f"bitnexus: seeded {line}")
    return 0


DEMO_USERS = (
    ("vendor", "Vera Vendor", "user"),
    ("buyer", "Bo Buyer", "user"),
    ("affiliate", "Ada Affiliate", "affiliate"),
)
DEMO_PRODUCTS = (
    ("Elixir in Action", "30.00", "EUR"),
    ("Designing for Scalability with Erlang/OTP", "45.50", "EUR"),
)


def _seed_demo(config: Config) -> Iterator[str]:
    """Demo data, posted through the services like any request: a vendor with two active
    products, a buyer, an affiliate; the buyer deposits, buys one product through the
    affiliate (commission 10 %) and pays the vendor. Passwords are `<role>-password-1`."""
    from actors import accounts, products, transactions
    from bitnexus.tree import running

    engine = make_engine(config)
    try:
        with running(config, engine):
            ids = {}
            for key, name, role in DEMO_USERS:
                email, password = f"{key}@example.com", f"{key}-password-1"
                attrs = {"email": email, "name": name, "password": password, "role": role}
                ids[key] = accounts.create_user(attrs).id
                yield f"user {email} (password {password}, id {ids[key]})"
            catalog = []
            for name, price, currency in DEMO_PRODUCTS:
                attrs = {"name": name, "price": price, "currency": currency}
                attrs |= {"commission_rate": "10", "status": "active"}
                catalog.append(products.create_product(attrs, ids["vendor"]).id)
                yield f"product {name!r} ({price} {currency}, id {catalog[-1]})"
            for attrs in (
                {"kind": "deposit", "amount": "100.00", "currency": "EUR"},
                {"kind": "purchase", "product_id": catalog[0], "affiliate_id": ids["affiliate"]},
                {
                    "kind": "transfer",
                    "amount": "5",
                    "currency": "EUR",
                    "recipient_id": ids["vendor"],
                },
            ):
                posted = transactions.create_transaction(ids["buyer"], attrs)
                yield f"transaction {posted.kind} {posted.amount} {posted.currency}"
    finally:
        engine.dispose()


def run_db_reset(config: Config, args: argparse.Namespace) -> int:
    if not args.yes:
        raise Refused(f"db reset deletes every row of {_name(config)}; run it with --yes")
    dropped = setup.drop(config.database_url)
    print(f"bitnexus: database {_name(config)} {'dropped' if dropped else 'did not exist'}")
    return run_db_setup(config, args)


def _name(config: Config) -> str:
    return sa.make_url(config.database_url).render_as_string(hide_password=True)


def run_serve(config: Config, args: argparse.Namespace) -> int:
    """Serve the API under gunicorn until SIGTERM (graceful) or SIGINT."""
    host = args.host or config.host
    port = args.port or config.port
    _check_port_free(host, port)
    _check_database(config)
    from bitnexus import server  # after _shared_metrics: it imports prometheus_client

    config, generated = server.with_secrets(config, Path.cwd() / "var")
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    options = server.ServeOptions(host, port, args.workers, args.threads, metrics_dir)
    _log_banner(options, config.admin_token or "", generated)
    return server.serve(config, options)


def _check_port_free(host: str, port: int) -> None:
    """Refuse before anything is printed when the address is taken or cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"cannot bind {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Refused(f"port {port} on {host} is already in use; try --port") from None
            raise Refused(f"cannot bind {host}:{port}: {exc.strerror}") from None


def _check_database(config: Config) -> None:
    """Connect once, so a missing or silent database is one line, not a worker's crash."""
    engine = make_engine(config)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def _log_banner(options: ServeOptions, token: str, generated: bool) -> None:
    base = f"http://{options.host}:{options.port}"
    origin = "generated for this run" if generated else "from BITNEXUS_ADMIN_TOKEN"
    lines = {
        "api": f"API       {base}/api/v1",
        "health": f"health    {base}/health  {base}/ready  {base}/metrics",
        "openapi": f"OpenAPI   {base}/api/openapi.json  docs {base}/api/docs",
        "operator": f"operator  {base}/admin?token={token}",
        "token": f"operator token ({origin}): {token}",
    }
    for key, line in lines.items():
        banner.info(line, extra={"banner": key})


CONSOLE_BANNER = """BitNexus console: the services run in this process ({database}).
accounts, products, transactions and ledger are imported; `app.tree` is the live tree.
  >>> user = accounts.create_user({{"email": "ada@example.com", "name": "Ada",
  ...                               "password": "correct horse battery"}})
"""


def run_console(config: Config, _args: argparse.Namespace | None = None) -> int:
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


def run_admin_create(config: Config, args: argparse.Namespace) -> int:
    """Create an admin (password from stdin or a prompt), or promote an existing user."""
    from bitnexus.accounts import create_or_promote
    from bitnexus.common.errors import ValidationFailed

    if not args.password_stdin and not sys.stdin.isatty():
        raise Refused("no terminal to ask for the password; pipe it in with --password-stdin")

    def password() -> str:
        if args.password_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise ValidationFailed({"password": ["does not match confirmation"]})
        return first

    engine = make_engine(config)
    try:
        user, created = create_or_promote(config, engine, args.email, args.name, password)
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            print(f"bitnexus: {field} {', '.join(messages)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    verb = "created" if created else "promoted"
    print(f"bitnexus: {verb} admin {user.email} (id {user.id})")
    return 0


def run_clear_degraded(config: Config, _args: argparse.Namespace | None = None) -> int:
    """Re-verify the chain; clear the degraded state only when it is valid."""
    from bitnexus.ledger import degraded

    engine = make_engine(config)
    try:
        report = degraded.clear(engine)
    finally:
        engine.dispose()
    if not report.valid:
        print(f"bitnexus: the chain does not verify: {report.summary()}", file=sys.stderr)
        print("bitnexus: the ledger stays degraded (no process writes)", file=sys.stderr)
        return 1
    print(f"bitnexus: chain valid up to block {report.head}; the ledger writes again")
    return 0


def run_ledger_verify(config: Config, args: argparse.Namespace) -> int:
    """Walk the chain (with a progress bar) and check checkpoints against it: those an
    auditor kept (FILE), or else those stored, signed by the configured key."""
    kept = args.from_checkpoint
    import json

    from bitnexus.database.engine import snapshot
    from bitnexus.ledger import checkpoints, verify_chain

    if kept is not None:
        document = json.loads(Path(kept).read_text())
        document = document.get("data", document)
        public = document["public_key"]
        claimed = [checkpoints.from_json(cp) for cp in document["checkpoints"]]
    engine = make_engine(config)
    try:
        with snapshot(engine) as conn:
            report = verify_chain(conn, _progress_bar)
            print(file=sys.stderr)
            if kept is None:
                claimed = checkpoints.all_checkpoints(conn)
                key = config.ledger_signing_key
                public = checkpoints.public_hex(checkpoints.load_key(key)) if key else None
            problems = checkpoints.against_chain(conn, claimed, public) if public else []
    finally:
        engine.dispose()
    if not report.valid:
        problems.insert(0, f"the chain does not verify: {report.summary()}")
    for problem in problems:
        print(f"bitnexus: {problem}", file=sys.stderr)
    if problems:
        return 1
    anchored = f", {len(claimed)} signed checkpoint(s) match" if public else " (no key)"
    print(f"bitnexus: chain valid up to block {report.head}{anchored}")
    return 0


def _progress_bar(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        filled = 40 * done // max(total, 1)
        bar = "#" * filled + "." * (40 - filled)
        print(f"\rbitnexus: verifying [{bar}] {done}/{total} blocks", end="", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
