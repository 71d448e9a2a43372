"""The `bitnexus` console script: `bitnexus migrate`, `bitnexus serve`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from bitnexus import migrate
from bitnexus.config import Config, ConfigError
from bitnexus.db import make_engine


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bitnexus", description="BitNexus backend")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (BITNEXUS_DATABASE_URL)")
    commands.add_parser("serve", help="start the supervision tree until SIGINT/SIGTERM")
    args = parser.parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"bitnexus: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        return run_migrate(config)
    return run_serve(config)


def run_migrate(config: Config) -> int:
    """Apply every pending migration."""
    engine = make_engine(config)
    try:
        migrate.upgrade(engine)
        print(f"bitnexus: database at revision {migrate.current(engine)}")
    finally:
        engine.dispose()
    return 0


def run_serve(config: Config) -> int:
    """Start the tree, print it, and run until SIGINT or SIGTERM; then stop cleanly."""
    from bitnexus.tree import application_spec, render
    from supervisors import start_tree

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    engine = make_engine(config)
    try:
        tree = start_tree(application_spec(config, engine))
        print(render(tree.tree()), flush=True)
        while not stop.wait(0.5) and tree.running:  # wake up to notice a dead tree
            pass
        tree.stop()
        return 0 if stop.is_set() else 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
