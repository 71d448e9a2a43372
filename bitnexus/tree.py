"""The application's supervision tree, declared in one place.

    root (one_for_one)
    └── services (one_for_one)
        ├── tasks          Task.Supervisor for the services' fan-out, registered name "tasks"
        ├── products       pool of Products workers, registered name "products"
        ├── accounts       pool of Accounts workers, registered name "accounts"
        ├── ledger         the one Ledger writer of this process, registered name "ledger"
        ├── ledger_readers pool of LedgerReader workers (every ledger read), "ledger_readers"
        └── transactions   pool of Transactions workers, registered name "transactions"

Pool sizes come from the configuration. `start` runs the tree in this process, for a
script, a REPL (`bitnexus console`) or a test (`bitnexus.testing`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from actors import client
from actors.accounts import Accounts
from actors.ledger import Ledger
from actors.ledger_readers import LedgerReader
from actors.products import Products
from actors.service import TASKS
from actors.transactions import Transactions
from bitnexus.config import Config
from bitnexus.database import migrate as migrations
from bitnexus.database.engine import make_engine
from supervisors import ChildSpec, Pool, SupervisorSpec, TaskSupervisorSpec, Tree, start_tree

RESTARTS_PER_MEMBER = 3  # in the pool's 5 s window: OTP's default intensity, per member


def _pool(worker: type, size: int, args: tuple[object, ...]) -> Pool:
    # Members fail independently (one_for_one), so the pool tolerates what each would:
    # with OTP's 3 restarts in 5 s for all members together, a few independent crashes a
    # second would make it give up and restart members that never crashed.
    return Pool(worker, size=size, args=args, max_restarts=RESTARTS_PER_MEMBER * size)


def service_children(config: Config, engine: Engine) -> list[ChildSpec]:
    """The services, in start order (a service starts after those it calls at start-up)."""
    args = (config, engine)
    return [
        ChildSpec(id="tasks", start=TaskSupervisorSpec(), name=TASKS),
        ChildSpec(
            id="products",
            start=_pool(Products, config.products_pool_size, args),
            name="products",
        ),
        ChildSpec(
            id="accounts",
            start=_pool(Accounts, config.accounts_pool_size, args),
            name="accounts",
        ),
        ChildSpec(id="ledger", start=Ledger, args=args, name="ledger"),
        ChildSpec(
            id="ledger_readers",
            start=_pool(LedgerReader, config.ledger_readers_pool_size, args),
            name="ledger_readers",
        ),
        ChildSpec(
            id="transactions",
            start=_pool(Transactions, config.transactions_pool_size, args),
            name="transactions",
        ),
    ]


def application_spec(config: Config, engine: Engine) -> SupervisorSpec:
    """Root supervisor with the `services` supervisor under it.

    Also makes `config.call_timeout` this process's default for the client functions.
    """
    client.configure(config.call_timeout)
    services = SupervisorSpec(children=service_children(config, engine), strategy="one_for_one")
    return SupervisorSpec(
        children=[ChildSpec(id="services", start=services)],
        strategy="one_for_one",
    )


@dataclass(frozen=True)
class App:
    """The application running in this process: its live tree, configuration and engine."""

    tree: Tree
    config: Config
    engine: Engine


@contextmanager
def running(config: Config, engine: Engine) -> Iterator[App]:
    """The tree started on ``engine``; stopped in reverse start order on exit."""
    tree = start_tree(application_spec(config, engine))
    try:
        yield App(tree, config, engine)
    finally:
        tree.stop()


@contextmanager
def start(
    database_url: str | None = None, *, migrate: bool = False, **settings: Any
) -> Iterator[App]:
    """The tree on ``database_url`` (default: the configured one), migrated first when
    asked; ``settings`` override `Config` fields (``call_timeout=2``, ...)."""
    config = Config.from_env()
    if database_url is not None:
        settings["database_url"] = database_url
    config = dataclasses.replace(config, **settings)
    engine = make_engine(config)
    try:
        if migrate:
            migrations.upgrade(engine)
        with running(config, engine) as app:
            yield app
    finally:
        engine.dispose()


def render(node: Mapping[str, Any]) -> str:
    """A live tree view (`Tree.tree()`) as indented text, one node per line."""
    return "\n".join(_lines(node, 0))


def _lines(node: Mapping[str, Any], depth: int) -> Iterator[str]:
    name = f" name={node['name']}" if node.get("name") else ""
    strategy = f" {node['strategy']}" if node.get("strategy") else ""
    yield f"{'  ' * depth}{node['id']} [{node['kind']}{strategy}] {node['status']}{name}"
    for child in node.get("children", ()):
        yield from _lines(child, depth + 1)
