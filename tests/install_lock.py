"""One installer at a time: parallel test workers (pytest-xdist) that need the same tool
on a fresh machine install it once, the others waiting for that install; Debian's tools
are installed through it."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def install_lock(name: str) -> Iterator[None]:
    """Hold the machine-wide lock for installing ``name`` for the block."""
    with open(f"/tmp/bitnexus-install-{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def debian_command(command: str, package: str) -> str:
    """The path of ``command``, installed with apt-get from Debian's ``package`` when it is
    missing: a test that needs it fails when it cannot be had, never skips."""
    with install_lock(package):
        if shutil.which(command) is None:
            for step in (["apt-get", "update"], ["apt-get", "install", "-y", package]):
                subprocess.run(step, check=True, capture_output=True, timeout=600)
    found = shutil.which(command)
    assert found, f"{command} is not installed and apt-get could not install {package}"
    return found
