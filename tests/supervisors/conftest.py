"""Fixtures for the supervision runtime tests: every tree started is stopped afterwards."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator

import pytest
from supervision_kit import Lab, stop_tree

from supervisors import EventLog, SupervisorSpec, Tree, start_tree

_counter = itertools.count()


@pytest.fixture
def lab() -> Lab:
    return Lab()


@pytest.fixture
def names() -> Callable[[str], str]:
    """Registered names are process-global: give each test its own."""
    prefix = f"t{next(_counter)}-{uuid.uuid4().hex[:6]}"
    return lambda name: f"{prefix}.{name}"


@pytest.fixture
def start() -> Iterator[Callable[..., Tree]]:
    """``start(spec, root_id="root", log=None)``: start a tree, stopped at teardown."""
    trees: list[Tree] = []

    def _start(spec: SupervisorSpec, root_id: str = "root", log: EventLog | None = None) -> Tree:
        tree = start_tree(spec, root_id, log)
        trees.append(tree)
        return tree

    yield _start
    for tree in reversed(trees):
        stop_tree(tree)
