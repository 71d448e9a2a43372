"""The application's supervision tree, declared in one place.

    root (one_for_one)
    └── services (one_for_one)
        ├── tasks          Task.Supervisor for the services' fan-out, registered name "tasks"
        ├── products       pool of Products workers, registered name "products"
        ├── accounts       pool of Accounts workers, registered name "accounts"
        ├── ledger         the one Ledger writer of this process, registered name "ledger"
        └── transactions   pool of Transactions workers, registered name "transactions"

Pool sizes come from the configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.engine import Engine

from actors import client
from actors.accounts import Accounts
from actors.ledger import Ledger
from actors.products import Products
from actors.service import TASKS
from actors.transactions import Transactions
from bitnexus.config import Config
from supervisors import ChildSpec, Pool, SupervisorSpec, TaskSupervisorSpec

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


def render(node: Mapping[str, Any]) -> str:
    """A live tree view (`Tree.tree()`) as indented text, one node per line."""
    return "\n".join(_lines(node, 0))


def _lines(node: Mapping[str, Any], depth: int) -> Iterator[str]:
    name = f" name={node['name']}" if node.get("name") else ""
    strategy = f" {node['strategy']}" if node.get("strategy") else ""
    yield f"{'  ' * depth}{node['id']} [{node['kind']}{strategy}] {node['status']}{name}"
    for child in node.get("children", ()):
        yield from _lines(child, depth + 1)
