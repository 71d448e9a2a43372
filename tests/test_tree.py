"""The application tree: its shape, pool sizes from configuration, and the text view."""

from __future__ import annotations

import dataclasses

from actors.accounts import Accounts
from actors.ledger import Ledger
from actors.products import Products
from actors.transactions import Transactions
from bitnexus.tree import application_spec, render
from supervisors import Pool, TaskSupervisorSpec


def test_spec_shape_pool_sizes_and_intensities(config, engine):
    """The shape and the intensities the drills depend on: root and services give up after
    3 restarts in 5 s (drill 2 crashes past both); a pool tolerates 3 per member (drill 1
    crashes members several times a second and no pool may give up)."""
    config = dataclasses.replace(
        config, accounts_pool_size=3, products_pool_size=5, transactions_pool_size=7
    )
    root = application_spec(config, engine)
    assert (root.strategy, root.max_restarts, root.max_seconds) == ("one_for_one", 3, 5)
    pubsub, services, endpoint = root.children
    assert (pubsub.id, services.id, endpoint.id) == ("pubsub", "services", "endpoint")
    assert [c.id for c in endpoint.start.children] == [
        "socket_hub",
        "supervision",
        "channels",
        "sockets",
    ]
    spec = services.start
    assert (spec.strategy, spec.max_restarts, spec.max_seconds) == ("one_for_one", 3, 5)
    children = {c.id: c for c in spec.children}
    assert list(children) == [
        "tasks",
        "products",
        "accounts",
        "ledger",
        "ledger_readers",
        "transactions",
    ]
    assert isinstance(children["tasks"].start, TaskSupervisorSpec)  # the services' fan-out
    assert children["tasks"].name == "tasks"
    assert children["ledger"].name == "ledger"
    assert children["ledger"].start is Ledger
    for name, worker, size in [
        ("products", Products, 5),
        ("accounts", Accounts, 3),
        ("transactions", Transactions, 7),
    ]:
        pool = children[name].start
        assert children[name].name == name
        assert isinstance(pool, Pool) and pool.worker is worker and pool.size == size
        assert (pool.max_restarts, pool.max_seconds) == (3 * size, 5)
    assert all(c.restart == "permanent" for c in [*root.children, *children.values()])


def test_running_tree_renders_as_indented_text(services):
    text = render(services.tree())
    lines = text.splitlines()
    assert lines[0].startswith("root [supervisor one_for_one] running")
    assert lines[1].startswith("  pubsub [supervisor one_for_one] running")
    assert "  services [supervisor one_for_one] running" in lines
    assert any(line.startswith("    accounts [pool") for line in lines)
    assert any(line.startswith("    products [pool") for line in lines)
    assert sum(line.strip().startswith("accounts-") for line in lines) == 2  # test config
