"""The pytest plugin (bitnexus/testing.py), as a project depending on bitnexus uses it:
a pytest run outside this repository's conftest, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import devdb
import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE / "test_example_shop.py"


def run_pytest(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)],
        cwd=directory,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding only the README's example test: no conftest of ours."""
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    return tmp_path


def test_installing_the_package_is_enough_on_sqlite(project):
    done = run_pytest(project, {"BITNEXUS_TEST_DATABASE_URL": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_bitnexus_test_database_url_runs_the_tests_on_postgresql(project):
    with devdb.database("bitnexus_test_plugin_") as url:
        for _ in range(2):  # the second run starts from emptied tables, not the first's rows
            done = run_pytest(project, {"BITNEXUS_TEST_DATABASE_URL": url})
            assert done.returncode == 0, done.stdout + done.stderr
            assert "2 passed" in done.stdout


def test_a_non_postgresql_test_database_url_is_refused(project):
    done = run_pytest(project, {"BITNEXUS_TEST_DATABASE_URL": "mysql://localhost/x"})
    assert done.returncode != 0
    assert "must name a PostgreSQL database" in done.stdout + done.stderr


def test_the_readme_shows_the_example_verbatim():
    readme = (HERE.parent / "README.md").read_text()
    assert EXAMPLE.read_text() in readme
