"""Imports go one way: web -> actors -> domain -> database; supervisors is a library.

Read with `ast` from the source files, so an import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ("accounts", "catalog", "ledger", "database", "common")
OURS = ("bitnexus", "actors", "web", "supervisors", "migrations")


def imported(path: Path) -> set[str]:
    """The top-level package of every absolute import in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def modules(*parts: str) -> list[Path]:
    return sorted(ROOT.joinpath(*parts).rglob("*.py"))


def offenders(paths: list[Path], forbidden: set[str]) -> dict[str, set[str]]:
    found = {str(p.relative_to(ROOT)): imported(p) & forbidden for p in paths}
    return {path: names for path, names in found.items() if names}


@pytest.mark.parametrize("context", DOMAIN)
def test_domain_contexts_never_import_actors_or_web(context):
    paths = modules("bitnexus", context)
    assert paths, f"bitnexus/{context} has no modules"
    assert offenders(paths, {"actors", "web"}) == {}


def test_supervisors_imports_nothing_of_ours():
    assert offenders(modules("supervisors"), set(OURS) - {"supervisors"}) == {}


def test_actors_never_import_web():
    assert offenders(modules("actors"), {"web"}) == {}


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from actors.errors import NotFound\n    import web.app\n")
    assert imported(source) == {"actors", "web"}
