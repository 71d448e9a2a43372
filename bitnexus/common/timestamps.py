"""Timestamps as text: ISO 8601 UTC with a `Z`, as Ecto encodes :utc_datetime."""

from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime) -> str:
    """``2026-01-01T12:00:00Z`` for an aware UTC datetime."""
    if value.tzinfo is dt.UTC:
        # The date's and the time's own isoformat (~0.45 us) instead of the datetime's
        # (~0.7 us), which formats an offset only for it to be replaced.
        return f"{value.date().isoformat()}T{value.time().isoformat()}Z"
    return value.isoformat().replace("+00:00", "Z")
