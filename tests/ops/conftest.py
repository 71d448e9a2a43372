"""The built wheel installed into a fresh virtualenv outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
from install_lock import install_lock

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    """A virtualenv with only the wheel (and its dependencies) in it."""

    root: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a fresh shell: no BITNEXUS_ or conventional settings."""
        conventional = {"DATABASE_URL", "PORT", "HOST", "SECRET_KEY_BASE", "PYTHONPATH"}
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("BITNEXUS_") and k not in conventional
        }
        path = f"{self.bin}{os.pathsep}{base.get('PATH', '')}"
        return {**base, "PATH": path, "VIRTUAL_ENV": str(self.root), **extra}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Building the wheel and installing it with its dependencies into a fresh virtualenv,
    # or installing a Debian tool, takes minutes on a loaded machine; the first test of the
    # run that needs one waits for it.
    slow = {"installed", "promtool", "compose_command"}
    for item in items:
        if slow & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pip wheel` of a clean copy of the repository, installed into a new virtualenv,
    once per run: the xdist workers of one run share their base temp's parent."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    built = shared / "installed"
    with install_lock("wheel"):
        if not (built / "complete").exists():  # a venv cannot be moved once made
            _build(built)
            (built / "complete").touch()
    (wheel,) = (built / "dist").glob("bitnexus-*.whl")
    return Installed(built / "venv", wheel)


def _build(into: Path) -> None:
    """The wheel in ``into/dist``, installed in ``into/venv``.

    The wheel is built from a copy that holds only the files git knows (no egg-info, no
    build/), as a fresh clone would: left-overs of the editable install would otherwise
    put files in the wheel.
    """
    shutil.rmtree(into, ignore_errors=True)
    source = into / "source"
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = into / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("bitnexus-*.whl")
    root = into / "venv"
    venv.create(root, with_pip=True)
    subprocess.run(
        [root / "bin" / "python", "-m", "pip", "install", "--quiet", wheel],
        check=True,
        timeout=600,
    )
