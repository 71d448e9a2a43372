"""The application tree: its shape, pool sizes from configuration, and the text view."""

from __future__ import annotations

import dataclasses

from bitnexus.tree import application_spec, render
from supervisors import Pool, TaskSupervisorSpec


def test_spec_shape_and_pool_sizes(config, engine):
    config = dataclasses.replace(config, accounts_pool_size=3, products_pool_size=5)
    root = application_spec(config, engine)
    assert root.strategy == "one_for_one"
    pubsub, services, endpoint = root.children
    assert (pubsub.id, services.id, endpoint.id) == ("pubsub", "services", "endpoint")
    assert [c.id for c in endpoint.start.children] == [
        "socket_hub",
        "supervision",
        "channels",
        "sockets",
    ]
    children = {c.id: c for c in services.start.children}
    assert isinstance(children["tasks"].start, TaskSupervisorSpec)  # the services' fan-out
    assert children["tasks"].name == "tasks"
    for name, size in [("accounts", 3), ("products", 5)]:
        assert children[name].name == name
        assert isinstance(children[name].start, Pool)
        assert children[name].start.size == size


def test_running_tree_renders_as_indented_text(services):
    text = render(services.tree())
    lines = text.splitlines()
    assert lines[0].startswith("root [supervisor one_for_one] running")
    assert lines[1].startswith("  pubsub [supervisor one_for_one] running")
    assert "  services [supervisor one_for_one] running" in lines
    assert any(line.startswith("    accounts [pool") for line in lines)
    assert any(line.startswith("    products [pool") for line in lines)
    assert sum(line.strip().startswith("accounts-") for line in lines) == 2  # test config
