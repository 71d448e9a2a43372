"""The application's supervision tree, declared in one place.

    root (one_for_one)
    ├── pubsub (one_for_one)
    │   ├── pubsub         subscriptions and fan-out, registered name "pubsub"
    │   ├── announcements  renders committed blocks' messages, name "announcements"
    │   └── listener       LISTEN for every process's messages (PostgreSQL only)
    ├── services (one_for_one)
    │   ├── tasks          Task.Supervisor for the services' fan-out, registered name "tasks"
    │   ├── products       pool of Products workers, registered name "products"
    │   ├── accounts       pool of Accounts workers, registered name "accounts"
    │   ├── ledger         the one Ledger writer of this process, registered name "ledger"
    │   ├── ledger_readers pool of LedgerReader workers (every ledger read), "ledger_readers"
    │   └── transactions   pool of Transactions workers, registered name "transactions"
    └── endpoint (one_for_one)
        ├── socket_hub     the event loop owning every WebSocket, name "socket_hub"
        ├── supervision    every worker's newest tree, for admin:supervision joins
        ├── channels       dynamic supervisor of Channel actors (temporary), name "channels"
        └── sockets        dynamic supervisor of Socket actors (temporary), name "sockets"

Pool sizes come from the configuration. Sockets stop before channels, and both before the
hub, so a stopping tree closes every connection with its channels' state settled. `start`
runs the tree in this process, for a script, a REPL (`bitnexus console`) or a test
(`bitnexus.testing`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from actors import client, pubsub
from actors.accounts import Accounts
from actors.ledger import Ledger
from actors.ledger_readers import LedgerReader
from actors.products import Products
from actors.pubsub import Listener, PubSub
from actors.service import TASKS
from actors.transactions import Transactions
from bitnexus.config import Config
from bitnexus.database import migrate as migrations
from bitnexus.database.engine import make_engine
from supervisors import (
    ChildSpec,
    DynamicSupervisorSpec,
    Pool,
    SupervisorSpec,
    TaskSupervisorSpec,
    Tree,
    start_tree,
)
from web.realtime import announce, hub, supervision
from web.realtime.announce import Announcements, LedgerAnnouncer
from web.realtime.hub import SocketHub
from web.realtime.socket import CHANNELS, SOCKETS
from web.realtime.supervision import Monitor

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
        ChildSpec(
            id="ledger",
            start=Ledger,
            args=(*args, LedgerAnnouncer(engine)),
            name="ledger",
        ),
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


def pubsub_children(config: Config, engine: Engine) -> list[ChildSpec]:
    """PubSub, then what feeds it: the ledger's announcements, the listener (which hands
    the ledger's block notices to the announcements)."""
    children = [
        ChildSpec(id="pubsub", start=PubSub, args=(engine,), name=pubsub.NAME),
        ChildSpec(
            id="announcements", start=Announcements, args=(config.call_timeout,), name=announce.NAME
        ),
    ]
    if pubsub.is_distributed(engine):
        handlers = {announce.BLOCK: announce.block_named}
        children.append(ChildSpec(id="listener", start=Listener, args=(engine, handlers)))
    return children


def endpoint_children(config: Config) -> list[ChildSpec]:
    # Temporary children: a socket or channel that ends is gone, as in Phoenix; many of
    # them may end at once (a worker's clients reconnecting), so no intensity applies.
    unbounded = DynamicSupervisorSpec(max_restarts=1_000_000, max_seconds=1.0)
    return [
        ChildSpec(
            id="socket_hub", start=SocketHub, args=(config.socket_idle_timeout,), name=hub.NAME
        ),
        ChildSpec(id="supervision", start=Monitor, name=supervision.NAME),
        ChildSpec(id="channels", start=unbounded, name=CHANNELS),
        ChildSpec(id="sockets", start=unbounded, name=SOCKETS),
    ]


def application_spec(config: Config, engine: Engine) -> SupervisorSpec:
    """Root supervisor: `pubsub`, `services`, then the `endpoint` serving sockets.

    Also makes `config.call_timeout` this process's default for the client functions.
    """
    client.configure(config.call_timeout)
    return SupervisorSpec(
        children=[
            ChildSpec(id="pubsub", start=SupervisorSpec(children=pubsub_children(config, engine))),
            ChildSpec(
                id="services",
                start=SupervisorSpec(children=service_children(config, engine)),
            ),
            ChildSpec(id="endpoint", start=SupervisorSpec(children=endpoint_children(config))),
        ],
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
