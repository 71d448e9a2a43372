"""The application's supervision tree, declared in one place.

    root (one_for_one)
    └── services (one_for_one)
        ├── products       pool of Products workers, registered name "products"
        ├── accounts       pool of Accounts workers, registered name "accounts"
        ├── ledger         the one Ledger writer of this process, registered name "ledger"
        ├── ledger_readers pool of LedgerReader workers (every ledger read), "ledger_readers"
        └── transactions   pool of Transactions workers, registered name "transactions"

Pool sizes come from the configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.engine import Engine

from actors.accounts import Accounts
from actors.ledger import Ledger
from actors.ledger_readers import LedgerReader
from actors.products import Products
from actors.transactions import Transactions
from bitnexus.config import Config
from supervisors import ChildSpec, Pool, SupervisorSpec

RESTARTS_PER_MEMBER = 3  # in the pool's 5 s window: OTP's default intensity, per member


def _pool(worker: type, size: int, args: tuple[object, ...]) -> Pool:
    # Found by drill 1: a pool's supervisor allowed 3 restarts in 5 s for all its members
    # together, so a few independent member crashes a second made it give up, and
    # `services` restarted every member: requests in members that never crashed failed.
    # Members fail independently (one_for_one), so the pool tolerates what each would.
    return Pool(worker, size=size, args=args, max_restarts=RESTARTS_PER_MEMBER * size)


def service_children(config: Config, engine: Engine) -> list[ChildSpec]:
    """The services, in start order (a service starts after those it calls at start-up)."""
    args = (config, engine)
    return [
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
    """Root supervisor with the `services` supervisor under it."""
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
