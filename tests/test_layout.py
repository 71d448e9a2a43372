"""Imports go one way: web -> actors -> domain -> database; supervisors is a library.

Read with `ast` from the source files, so an import inside a function counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTEXTS = ("accounts", "catalog", "ledger")
DOMAIN = (*CONTEXTS, "database", "common")
ASSEMBLY = ("tree", "server", "cli")  # put the application together, above actors and web
OURS = ("bitnexus", "actors", "web", "supervisors", "migrations")


def modules_imported(path: Path) -> set[str]:
    """Every module named by an absolute import in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def imported(path: Path) -> set[str]:
    """The top-level package of every absolute import in ``path``."""
    return {name.partition(".")[0] for name in modules_imported(path)}


def exported(package: Path) -> set[str]:
    """The names in the ``__all__`` of ``package``'s ``__init__.py``."""
    for node in ast.parse((package / "__init__.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def submodules_imported_by_name(path: Path, root: Path) -> set[str]:
    """``bitnexus.catalog.products`` for ``from bitnexus.catalog import products`` (a module
    of the package that its ``__all__`` does not export)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            package = root.joinpath(*node.module.split("."))
            if (package / "__init__.py").exists():
                public = exported(package)
                for alias in node.names:
                    inner = package / alias.name
                    is_module = inner.with_suffix(".py").exists() or inner.is_dir()
                    if is_module and alias.name not in public:
                        names.add(f"{node.module}.{alias.name}")
    return names


def reached_into(path: Path, root: Path = ROOT) -> set[str]:
    """Modules inside a context other than the one ``path`` (under ``root``) belongs to."""
    own = path.relative_to(root).parts[:2]
    inside = set()
    for name in modules_imported(path) | submodules_imported_by_name(path, root):
        parts = tuple(name.split("."))
        if len(parts) > 2 and parts[0] == "bitnexus" and parts[1] in CONTEXTS:
            inside |= {name} if parts[:2] != own else set()
    return inside


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


def test_only_the_assembly_modules_of_bitnexus_import_actors_or_web():
    top = [p for p in (ROOT / "bitnexus").glob("*.py") if p.stem not in ASSEMBLY]
    assert offenders(top, {"actors", "web"}) == {}


def test_supervisors_imports_nothing_of_ours():
    assert offenders(modules("supervisors"), set(OURS) - {"supervisors"}) == {}


def test_actors_never_import_web():
    assert offenders(modules("actors"), {"web"}) == {}


def test_contexts_and_services_use_other_contexts_through_their_packages():
    paths = [*modules("actors"), *modules("web")]
    paths += [p for context in CONTEXTS for p in modules("bitnexus", context)]
    found = {str(p.relative_to(ROOT)): reached_into(p) for p in paths}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from actors.errors import NotFound\n    import web.app\n")
    assert imported(source) == {"actors", "web"}


def test_reaching_into_another_context_is_seen_and_the_own_context_is_not(tmp_path):
    source = tmp_path / "bitnexus" / "ledger" / "m.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from bitnexus.catalog import PRICE_LIMIT\n"
        "from bitnexus.ledger.schema import TRANSACTION_KINDS\n"
        "import bitnexus.catalog.products\n"
    )
    assert reached_into(source, tmp_path) == {"bitnexus.catalog.products"}


def test_a_module_imported_by_name_from_its_package_is_reaching_in_unless_exported(tmp_path):
    catalog = tmp_path / "bitnexus" / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "__init__.py").write_text('__all__ = ["PRICE_LIMIT", "rules"]\n')
    (catalog / "products.py").write_text("")
    (catalog / "rules.py").write_text("")
    source = tmp_path / "web" / "m.py"
    source.parent.mkdir()
    source.write_text("from bitnexus.catalog import PRICE_LIMIT, products, rules\n")
    assert reached_into(source, tmp_path) == {"bitnexus.catalog.products"}


# The checks above read the source; this one imports it, so an import through another
# module of ours (a domain module importing `bitnexus.tree`, say) is seen as well.
LOADED = """
import importlib, pkgutil, sys
for package in {packages!r}:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(info.name)
print(sorted({{m.partition(".")[0] for m in sys.modules}} & {forbidden!r}))
"""


@pytest.mark.parametrize(
    "packages, forbidden",
    [
        ([f"bitnexus.{name}" for name in DOMAIN], {"actors", "web"}),
        (["supervisors"], set(OURS) - {"supervisors"}),
    ],
    ids=["domain", "supervisors"],
)
def test_importing_every_module_loads_nothing_it_must_not(packages, forbidden):
    probe = LOADED.format(packages=packages, forbidden=forbidden)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
