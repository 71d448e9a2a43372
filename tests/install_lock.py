"""One installer at a time: parallel test workers (pytest-xdist) that need the same tool
on a fresh machine install it once, the others waiting for that install."""

from __future__ import annotations

import fcntl
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
