"""Short forms in `make test`, long forms in `make chaos` (BITNEXUS_CHAOS=long)."""

from __future__ import annotations

import os


def is_long() -> bool:
    """The long forms run only when asked for: they take minutes each."""
    return os.environ.get("BITNEXUS_CHAOS", "").strip().lower() == "long"


def pick(short: float, long: float) -> float:
    """The figure of the current form (durations, rates, client counts)."""
    return long if is_long() else short
